"""SIRL (Bobu et al., HRI 2023, arXiv:2301.00810) on a simulated gridworld.

- :mod:`cl_rlhf.sirl.gridworld`: trajectories with causal features and a spurious shortcut.
- :mod:`cl_rlhf.sirl.experiment`: similarity queries -> :math:`\\phi` -> reward on frozen
  :math:`\\phi`, against a reward on raw observations, with and without the shift.
"""
