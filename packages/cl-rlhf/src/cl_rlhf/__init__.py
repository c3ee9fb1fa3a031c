"""Reward modelling on preference pairs (Secrets of RLHF Part II, arXiv:2401.06080) and SIRL.

- :mod:`cl_rlhf.data`: chosen/rejected JSON Lines loaders, deterministic splits, injected flips,
  the final exchange of a dialogue.
- :mod:`cl_rlhf.encoding`, :mod:`cl_rlhf.features`: frozen Hugging Face encoder features (mean
  pooling, on-disk cache) of the final responses or of whole dialogues.
- :mod:`cl_rlhf.reward_head`, :mod:`cl_rlhf.training`: MLP reward head and its training loop.
- :mod:`cl_rlhf.finetune`: encoder + head trained jointly (fine-tuned backbone), save / load.
- :mod:`cl_rlhf.losses`: Bradley-Terry loss (label smoothing, adaptive margin), the SimCSE and
  SwAV auxiliaries on reward-model representations, SIRL's similarity-query loss.
- :mod:`cl_rlhf.strength`: preference strength from an ensemble of reward heads (out of fold).
- :mod:`cl_rlhf.methods`, :mod:`cl_rlhf.experiment`: the recipes and the label-noise comparison.
- :mod:`cl_rlhf.metarm`, :mod:`cl_rlhf.shift_experiment`: MetaRM and the length-shift comparison.
- :mod:`cl_rlhf.sirl`: SIRL on a simulated gridworld with a spurious feature.

Importing the package is cheap; torch and transformers load with the modules that need them.
"""

__version__ = "0.1.0"
