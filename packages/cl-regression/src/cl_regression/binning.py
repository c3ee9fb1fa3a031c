"""Turn continuous regression targets into integer bins (the "label binning" of SupCon/SupReMix)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from cl_regression.validation import check_choice, check_count

BinningStrategy = Literal["uniform", "quantile"]


def bin_edges(targets: Tensor, num_bins: int, strategy: BinningStrategy = "uniform") -> Tensor:
    """Inner edges of ``num_bins`` bins over ``targets`` (``num_bins - 1`` values, ascending).

    ``"uniform"`` splits ``[min, max]`` into equal widths; ``"quantile"`` puts the same number of
    targets in each bin (repeated edges from ties are merged, so fewer bins may result).

    Args:
        targets: (N,) floating targets.
        num_bins: number of bins, >= 1.
        strategy: ``"uniform"`` or ``"quantile"``.

    Returns:
        (num_bins - 1,) or fewer ascending edges, to pass to :func:`assign_bins`.

    Example:
        >>> bin_edges(torch.tensor([0.0, 1.0, 2.0, 4.0]), 2)
        tensor([2.], dtype=torch.float64)
    """
    check_count(num_bins, "num_bins", minimum=1)
    check_choice(strategy, ("uniform", "quantile"), "strategy")
    if targets.dim() != 1 or targets.numel() == 0:
        raise ValueError(f"targets must be a non-empty 1-D tensor, got {tuple(targets.shape)}")
    values = targets.detach().double()
    fractions = torch.linspace(0, 1, num_bins + 1, dtype=torch.float64)[1:-1]
    if strategy == "uniform":
        edges = values.min() + fractions * (values.max() - values.min())
    else:
        edges = torch.quantile(values, fractions)
    return torch.unique(edges)


def assign_bins(targets: Tensor, edges: Tensor) -> Tensor:
    """Integer bin of each target: the number of edges <= target (bins are ``[e_k, e_{k+1})``).

    Example:
        >>> assign_bins(torch.tensor([0.0, 1.9, 2.0, 4.0]), torch.tensor([2.0]))
        tensor([0, 0, 1, 1])
    """
    return torch.bucketize(targets.detach().double(), edges.double(), right=True)
