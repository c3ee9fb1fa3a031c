"""Reduce a vector of per-row losses the way every loss in this package does."""

from __future__ import annotations

from typing import Literal

from torch import Tensor

Reduction = Literal["mean", "sum", "none"]


def reduce_losses(per_row: Tensor, reduction: Reduction) -> Tensor:
    """Return ``per_row.mean()``, ``per_row.sum()`` or ``per_row`` itself for ``"none"``."""
    if reduction == "mean":
        return per_row.mean()
    if reduction == "sum":
        return per_row.sum()
    return per_row
