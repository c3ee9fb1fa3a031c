"""Input checks at the public boundaries of the reward-model losses and strength estimates."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cl_core.validation import check_embeddings, check_finite


def check_rewards(chosen_reward: object, rejected_reward: object) -> None:
    """Raise unless both are finite floating 1-D tensors of the same non-zero length."""
    for name, value in (("chosen_reward", chosen_reward), ("rejected_reward", rejected_reward)):
        check_embeddings(value, name, shape="(N,)", ndim=1)
        check_finite(value, name)
    if chosen_reward.shape != rejected_reward.shape:
        raise ValueError(
            "chosen_reward and rejected_reward must have the same shape (N,), got "
            f"{tuple(chosen_reward.shape)} and {tuple(rejected_reward.shape)}"
        )


def check_per_pair(
    value: float | Tensor,
    name: str,
    num_pairs: int,
    like: Tensor,
    *,
    low: float = -math.inf,
    high: float = math.inf,
) -> Tensor:
    """A float or (num_pairs,) tensor in [low, high], returned as a tensor matching ``like``."""
    if isinstance(value, bool) or not isinstance(value, int | float | Tensor):
        raise TypeError(f"{name} must be a float or a tensor of shape (N,), got {type(value)}")
    if isinstance(value, Tensor):
        if value.shape not in ((num_pairs,), ()):
            raise ValueError(
                f"{name} must have shape ({num_pairs},) like the rewards, got {tuple(value.shape)}"
            )
        if not value.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
        tensor = value.to(device=like.device, dtype=like.dtype)
    else:
        tensor = torch.tensor(float(value), device=like.device, dtype=like.dtype)
    check_finite(tensor, name)
    if bool((tensor < low).any()) or bool((tensor > high).any()):
        raise ValueError(
            f"{name} must lie in [{low}, {high}], got values in "
            f"[{float(tensor.min())}, {float(tensor.max())}]"
        )
    return tensor
