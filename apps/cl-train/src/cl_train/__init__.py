"""Command line: train an encoder with a contrastive method (`cl-train MODALITY ...`)."""

__version__ = "0.1.0"
