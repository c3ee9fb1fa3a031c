"""DebCSE-style inverse-propensity weights (Miao et al., CIKM 2023).

Data card: synthesized pairs. A pool of 100,000 pairs has integer length differences 0-9 and a
uniform semantic similarity; a biased process selects pairs with small length differences far
more often. After resampling the selected pairs with 1/propensity weights, their length-difference
distribution must match the pool's (chi-square goodness of fit).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from cl_core.mining import (
    inverse_propensity_sampler,
    inverse_propensity_weights,
    pair_bins,
    selection_propensity,
)


@pytest.fixture(scope="module")
def biased_pool():
    rng = np.random.default_rng(0)
    size = 100_000
    length_difference = rng.integers(0, 10, size=size).astype(float)
    semantic = rng.uniform(0.0, 1.0, size=size)
    probability = 1.0 / (1.0 + np.exp(-(1.5 - 0.5 * length_difference + 2.0 * semantic)))
    selected = rng.uniform(size=size) < probability
    return (
        torch.from_numpy(length_difference),
        torch.from_numpy(semantic),
        torch.from_numpy(selected),
    )


def length_counts(length_difference: np.ndarray) -> np.ndarray:
    return np.bincount(length_difference.astype(int), minlength=10)


def test_ipw_resampling_removes_the_length_bias(biased_pool) -> None:
    length, semantic, selected = biased_pool
    reference = length_counts(length.numpy()) / length.numel()
    draws = 5_000
    biased = length_counts(length[selected].numpy()[:draws])
    assert chisquare(biased, reference * biased.sum()).pvalue < 0.01

    weights = inverse_propensity_weights(length, semantic, selected, bins=(10, 5))
    sampler = inverse_propensity_sampler(weights, draws, generator=torch.Generator().manual_seed(0))
    resampled = length_counts(length[list(sampler)].numpy())
    assert chisquare(resampled, reference * draws).pvalue > 0.01


def test_weights_restore_every_bins_pool_count(biased_pool) -> None:
    length, semantic, selected = biased_pool
    bins = pair_bins(length, semantic, bins=(10, 4))
    weights = inverse_propensity_weights(length, semantic, selected, bins=(10, 4))
    for bin_id in torch.unique(bins[selected]):
        in_bin = bins == bin_id
        assert float(weights[in_bin].sum()) == pytest.approx(float(in_bin.sum()))
    assert bool((weights[~selected] == 0).all())


def test_propensity_matches_a_counting_loop() -> None:
    surface = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    semantic = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    selected = torch.tensor([True, False, False, True, True, False, True])
    propensity = selection_propensity(surface, semantic, selected, bins=2)
    cells: dict[tuple[float, float], list[bool]] = {}
    for s, m, chosen in zip(surface.tolist(), semantic.tolist(), selected.tolist(), strict=True):
        cells.setdefault((s, m), []).append(chosen)
    expected = [
        sum(cells[(s, m)]) / len(cells[(s, m)])
        for s, m in zip(surface.tolist(), semantic.tolist(), strict=True)
    ]
    assert propensity.tolist() == pytest.approx(expected)


def test_bad_inputs_name_the_argument() -> None:
    values = torch.rand(5)
    chosen = torch.tensor([True, False, True, False, True])
    with pytest.raises(ValueError, match="surface and semantic must have the same length"):
        pair_bins(values, torch.rand(4))
    with pytest.raises(ValueError, match="bins must be an int >= 1 or a pair"):
        pair_bins(values, values, bins=0)
    with pytest.raises(TypeError, match="selected must be a bool tensor"):
        inverse_propensity_weights(values, values, chosen.long())
    with pytest.raises(ValueError, match="at least one pair"):
        inverse_propensity_weights(values, values, torch.zeros(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="semantic must be finite"):
        pair_bins(values, torch.full((5,), float("nan")))
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        inverse_propensity_sampler(torch.tensor([1.0, -1.0]), 3)
    with pytest.raises(ValueError, match="num_samples must be an int >= 1"):
        inverse_propensity_sampler(torch.tensor([1.0]), 0)
