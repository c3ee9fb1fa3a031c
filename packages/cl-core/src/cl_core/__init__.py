"""The contrastive kernel: losses, distributed gather, heads, mining, metrics, evaluation, Lightning training base."""

__version__ = "0.1.0"
