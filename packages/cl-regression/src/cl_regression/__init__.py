"""Regression recipes: SupReMix supervised contrastive regression."""

__version__ = "0.1.0"
