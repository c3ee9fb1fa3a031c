"""A learnable softmax temperature, parametrised by its logarithm.

CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language Supervision", 2021,
arXiv:2103.00020) learns ``log(1/tau)`` and clips the scale at 100; parametrising the log keeps
``tau > 0`` and makes multiplicative updates additive. Here ``tau = exp(log_tau)``, clamped to
``[min_value, max_value]``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class LearnableTemperature(nn.Module):
    """``tau = clamp(exp(log_tau), min_value, max_value)`` with a learnable ``log_tau``.

    Args:
        initial: starting temperature, inside ``[min_value, max_value]``.
        min_value: lower bound (> 0); CLIP's logit-scale cap of 100 is ``min_value = 0.01``.
        max_value: upper bound.

    Shapes:
        output: a 0-d tensor.

    Example:
        >>> t = LearnableTemperature(0.07)
        >>> round(float(t().detach()), 4)
        0.07
    """

    def __init__(self, initial: float = 0.07, min_value: float = 0.01, max_value: float = 1.0):
        super().__init__()
        if not 0.0 < min_value <= max_value:
            raise ValueError(
                f"need 0 < min_value <= max_value, got min_value={min_value}, max_value={max_value}"
            )
        if not min_value <= initial <= max_value:
            raise ValueError(f"initial must be in [{min_value}, {max_value}], got {initial}")
        self.min_value = min_value
        self.max_value = max_value
        self.log_tau = nn.Parameter(torch.tensor(math.log(initial)))

    def forward(self) -> Tensor:
        return self.log_tau.exp().clamp(self.min_value, self.max_value)
