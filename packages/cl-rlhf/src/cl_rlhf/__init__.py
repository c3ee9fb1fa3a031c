"""Reward modelling on preference pairs (Secrets of RLHF Part II, arXiv:2401.06080).

- :mod:`cl_rlhf.data`: chosen/rejected JSON Lines loaders, deterministic splits, injected flips.
- :mod:`cl_rlhf.encoding`: frozen Hugging Face encoder features (mean pooling, on-disk cache).
- :mod:`cl_rlhf.reward_head`, :mod:`cl_rlhf.training`: MLP reward head and its training loop.
- :mod:`cl_rlhf.losses`: Bradley-Terry loss (label smoothing, adaptive margin) and the SimCSE
  auxiliary on reward-model representations.
- :mod:`cl_rlhf.strength`: preference strength from an ensemble of reward heads.
- :mod:`cl_rlhf.methods`, :mod:`cl_rlhf.experiment`: the recipes and the label-noise comparison.

Importing the package is cheap; torch and transformers load with the modules that need them.
"""

__version__ = "0.1.0"
