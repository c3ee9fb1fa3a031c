"""Learning-rate schedule: linear warm-up followed by cosine decay, stepped once per optimizer step.

The cosine part is SGDR without restarts (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent
with Warm Restarts", 2016, arXiv:1608.03983); the linear warm-up follows Goyal et al., "Accurate,
Large Minibatch SGD" (2017, arXiv:1706.02677), as used by SimCLR (arXiv:2002.05709).
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine_factor(
    step: int, warmup_steps: int, total_steps: int, min_factor: float
) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based).

    ``f(s) = (s + 1) / W`` for ``s < W``, then
    ``f(s) = m + (1 - m) * (1 + cos(pi * p)) / 2`` with ``p = min(1, (s - W) / max(1, T - W))``.

    Args:
        step: optimizer step, >= 0.
        warmup_steps: ``W``, >= 0.
        total_steps: ``T``, >= 1; the schedule stays at ``m`` after it.
        min_factor: ``m`` in [0, 1], the final fraction of the base rate.

    Returns:
        The factor in ``[min_factor, 1]`` (during warm-up in ``(0, 1]``).

    Example:
        >>> warmup_cosine_factor(0, warmup_steps=10, total_steps=100, min_factor=0.0)
        0.1
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0.0 <= min_factor <= 1.0:
        raise ValueError(f"min_factor must be in [0, 1], got {min_factor}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_schedule(
    optimizer: torch.optim.Optimizer,
    *,
    warmup_steps: int,
    total_steps: int,
    min_factor: float = 0.0,
) -> LambdaLR:
    """A per-step :class:`~torch.optim.lr_scheduler.LambdaLR` of :func:`warmup_cosine_factor`.

    Example:
        >>> opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        >>> sched = warmup_cosine_schedule(opt, warmup_steps=2, total_steps=10)
        >>> opt.param_groups[0]["lr"]
        0.0005
    """
    warmup_cosine_factor(0, warmup_steps, total_steps, min_factor)  # validates the arguments
    return LambdaLR(
        optimizer, lambda step: warmup_cosine_factor(step, warmup_steps, total_steps, min_factor)
    )
