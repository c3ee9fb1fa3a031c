"""Speech recipes: COCONUT continual contrastive spoken language understanding."""

__version__ = "0.1.0"
