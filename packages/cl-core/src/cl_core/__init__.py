"""The contrastive kernel shared by every modality.

Losses, distributed gather, heads, negative mining, embedding metrics, evaluation protocols and the
Lightning training base.
"""

__version__ = "0.1.0"
