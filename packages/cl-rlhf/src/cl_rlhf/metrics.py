"""Pairwise accuracy of a reward model: how often the preferred response scores higher."""

from __future__ import annotations

import torch
from torch import Tensor

from cl_rlhf.validation import check_rewards


def pairwise_accuracy(chosen_reward: Tensor, rejected_reward: Tensor) -> float:
    """Share of pairs whose chosen response gets the strictly higher reward (ties count half).

    Args:
        chosen_reward: shape (N,).
        rejected_reward: shape (N,).

    Returns:
        A float in [0, 1].

    Example:
        >>> import torch
        >>> pairwise_accuracy(torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.0, 1.0, 2.0]))
        0.5
    """
    check_rewards(chosen_reward, rejected_reward)
    wins = (chosen_reward > rejected_reward).to(torch.float64)
    ties = (chosen_reward == rejected_reward).to(torch.float64)
    return float((wins + 0.5 * ties).mean())
