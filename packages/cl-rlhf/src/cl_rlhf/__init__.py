"""Reward-modelling recipes: contrastive reward models, preference strength, MetaRM, SIRL."""

__version__ = "0.1.0"
