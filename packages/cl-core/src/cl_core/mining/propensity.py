r"""Inverse-propensity weights for pair selection, after DebCSE.

Miao, Du, Zhang, "DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the
Debiasing Perspective", CIKM 2023. Selected pairs (e.g. positives of an unsupervised pipeline)
over-represent some surface similarities (sentence-length difference, lexical overlap); weighting
each selected pair by the inverse of its selection propensity makes the selected set look like the
reference pool. Inverse-propensity weighting: Rosenbaum & Rubin, "The central role of the
propensity score in observational studies for causal effects", Biometrika 1983.

The propensity is estimated with a 2-D histogram:

.. math:: e(b_s, b_m) = \frac{\#\{\text{selected pairs in bin } (b_s, b_m)\}}
                             {\#\{\text{pairs in bin } (b_s, b_m)\}}

over surface-similarity bins :math:`b_s` and semantic-similarity bins :math:`b_m`; a selected
pair gets weight :math:`1 / e`, so that the weighted selected pairs have, bin by bin, the counts
of the whole pool.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import WeightedRandomSampler

from cl_core.validation import check_tensor_dim


def pair_bins(surface: Tensor, semantic: Tensor, bins: int | tuple[int, int] = 10) -> Tensor:
    """Joint histogram-bin id of each pair (equal-width bins over each score's observed range).

    Args:
        surface: (N,) surface similarity of each pair (e.g. length difference, word overlap).
        semantic: (N,) semantic similarity of each pair.
        bins: Number of bins per axis, or ``(surface_bins, semantic_bins)``.

    Returns:
        (N,) int64 bin ids; pairs share an id iff they fall in the same 2-D bin.

    Example:
        >>> import torch
        >>> ids = pair_bins(torch.tensor([0.0, 0.1, 1.0]), torch.tensor([0.0, 0.0, 1.0]), bins=2)
        >>> bool(ids[0] == ids[1]), bool(ids[0] == ids[2])
        (True, False)
    """
    from scipy.stats import binned_statistic_2d

    surface_values = _score_array(surface, "surface")
    semantic_values = _score_array(semantic, "semantic")
    if surface_values.shape != semantic_values.shape:
        raise ValueError(
            f"surface and semantic must have the same length, got {surface_values.shape[0]} and "
            f"{semantic_values.shape[0]}"
        )
    counts = (bins, bins) if isinstance(bins, int) else tuple(bins)
    if len(counts) != 2 or not all(isinstance(c, int) and c >= 1 for c in counts):
        raise ValueError(f"bins must be an int >= 1 or a pair of them, got {bins!r}")
    result = binned_statistic_2d(
        surface_values, semantic_values, None, statistic="count", bins=list(counts)
    )
    return torch.as_tensor(result.binnumber, dtype=torch.long)


def selection_propensity(
    surface: Tensor, semantic: Tensor, selected: Tensor, bins: int | tuple[int, int] = 10
) -> Tensor:
    """Estimated :math:`P(\\text{selected} \\mid \\text{bin})` of every pair, shape (N,).

    Args:
        surface: (N,) surface similarity of each pair in the pool.
        semantic: (N,) semantic similarity of each pair.
        selected: (N,) bool, which pairs the biased process selected.
        bins: Bins per axis (see :func:`pair_bins`).

    Returns:
        (N,) float64 propensities in [0, 1] on the CPU; > 0 for every selected pair.
    """
    bin_ids = pair_bins(surface, semantic, bins)
    chosen = _selection_mask(selected, bin_ids.shape[0])
    _, inverse = torch.unique(bin_ids, return_inverse=True)
    totals = torch.bincount(inverse).double()
    chosen_counts = torch.bincount(inverse, weights=chosen.double(), minlength=totals.shape[0])
    return (chosen_counts / totals)[inverse]


def inverse_propensity_weights(
    surface: Tensor, semantic: Tensor, selected: Tensor, bins: int | tuple[int, int] = 10
) -> Tensor:
    """Weight :math:`1 / e` for each selected pair and 0 for the others, shape (N,).

    Summed over the selected pairs of a bin, the weights equal that bin's pool count, so
    weighting (or resampling, :func:`inverse_propensity_sampler`) the selected pairs restores the
    pool's joint distribution of the binned surface and semantic similarities.

    Args:
        surface: (N,) surface similarity of each pair in the pool.
        semantic: (N,) semantic similarity of each pair.
        selected: (N,) bool, which pairs were selected; at least one.
        bins: Bins per axis (see :func:`pair_bins`).

    Returns:
        (N,) float64 weights on the CPU.

    Example:
        >>> import torch
        >>> surface = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0])
        >>> selected = torch.tensor([True, False, False, True, True])
        >>> inverse_propensity_weights(surface, torch.zeros(5), selected, bins=(2, 1))
        tensor([3., 0., 0., 1., 1.], dtype=torch.float64)
    """
    propensity = selection_propensity(surface, semantic, selected, bins)
    chosen = selected.cpu()
    if not bool(chosen.any()):
        raise ValueError("selected must mark at least one pair, got none")
    weights = torch.zeros_like(propensity)
    weights[chosen] = 1.0 / propensity[chosen]
    return weights


def inverse_propensity_sampler(
    weights: Tensor, num_samples: int, *, generator: torch.Generator | None = None
) -> WeightedRandomSampler:
    """A sampler that draws pair indices with probability proportional to ``weights``.

    Draws with replacement, so unselected pairs (weight 0) never appear and over-selected bins are
    thinned out.

    Args:
        weights: (N,) non-negative weights, e.g. :func:`inverse_propensity_weights`.
        num_samples: Number of indices per pass (>= 1).
        generator: Random generator for reproducible draws.

    Returns:
        A ``torch.utils.data.WeightedRandomSampler``.

    Example:
        >>> import torch
        >>> sampler = inverse_propensity_sampler(torch.tensor([0.0, 1.0]), 3)
        >>> list(sampler)
        [1, 1, 1]
    """
    check_tensor_dim(weights, 1, "weights", "(N,)")
    if not weights.is_floating_point():
        raise TypeError(f"weights must be a floating-point tensor, got dtype {weights.dtype}")
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError("weights must be finite and non-negative")
    if not bool((weights > 0).any()):
        raise ValueError("weights must have at least one positive entry, got all zeros")
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be an int >= 1, got {num_samples!r}")
    return WeightedRandomSampler(
        weights.double(), num_samples, replacement=True, generator=generator
    )


def _score_array(values: Tensor, name: str) -> np.ndarray:
    check_tensor_dim(values, 1, name, "(N,)")
    if values.numel() == 0:
        raise ValueError(f"{name} must be non-empty, got shape (0,)")
    array = values.detach().cpu().double().numpy()
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got a tensor holding NaN or inf")
    return array


def _selection_mask(selected: Tensor, length: int) -> Tensor:
    check_tensor_dim(selected, 1, "selected", f"({length},)")
    if selected.dtype != torch.bool:
        raise TypeError(f"selected must be a bool tensor, got dtype {selected.dtype}")
    if selected.shape[0] != length:
        raise ValueError(f"selected must have shape ({length},), got {tuple(selected.shape)}")
    return selected.cpu()
