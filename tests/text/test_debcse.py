"""DebCSE pair selection: propensities, IPW draws and the debiasing property."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cl_text.debcse import (
    candidate_pairs,
    debcse_triplets,
    ipw_choice,
    selection_propensity,
    surface_bins,
    token_overlap,
)


def test_token_overlap_is_jaccard() -> None:
    assert token_overlap("a b c", "B c d") == pytest.approx(2 / 4)
    assert token_overlap("", "") == 1.0


def test_selection_propensity_is_the_per_bin_selection_rate() -> None:
    bins = np.array([0, 0, 0, 1, 2, 2])
    selected = np.array([True, False, False, True, False, False])
    expected = np.array([1 / 3, 1 / 3, 1 / 3, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(selection_propensity(bins, selected, 4), expected)


def test_ipw_choice_frequencies_follow_inverse_propensity() -> None:
    rng = np.random.default_rng(0)
    groups = np.zeros(2, dtype=int)
    propensity = np.array([0.2, 0.8])
    draws = [ipw_choice(groups, propensity, rng)[0] for _ in range(4000)]
    # weights 5 and 1.25 -> P(first) = 0.8
    assert np.mean(np.array(draws) == 0) == pytest.approx(0.8, abs=0.03)


def length_biased_corpus(count: int = 300, seed: int = 0):
    """Sentences whose embedding is close when their lengths are close (a surface bias)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 30, size=count)
    sentences = [" ".join(f"w{rng.integers(0, 50)}" for _ in range(n)) for n in lengths]
    embeddings = torch.tensor(
        np.stack([lengths / 30.0, np.ones(count)], axis=1) + 0.02 * rng.normal(size=(count, 2))
    )
    return sentences, embeddings


def chi_square_against(selected: np.ndarray, reference: np.ndarray, cells: int) -> float:
    observed = np.bincount(selected, minlength=cells).astype(float)
    expected = np.bincount(reference, minlength=cells).astype(float)
    expected = expected / expected.sum() * observed.sum()
    keep = expected > 0
    return float((((observed - expected) ** 2)[keep] / expected[keep]).sum())


def test_ipw_positives_depend_less_on_surface_bins_than_naive_nearest_neighbours() -> None:
    sentences, embeddings = length_biased_corpus()
    pairs = candidate_pairs(sentences, embeddings, num_candidates=12, positive_pool=4)
    bins = surface_bins(pairs, 3)
    naive = bins[pairs.in_positive_pool]
    triplets = debcse_triplets(
        sentences, embeddings, num_candidates=12, positive_pool=4, num_bins=3, seed=0
    )
    index = {s: i for i, s in enumerate(sentences)}
    key = {(a, c): b for a, c, b in zip(pairs.anchor, pairs.candidate, bins, strict=True)}
    chosen = np.array([key[(index[t.anchor], index[t.positive])] for t in triplets])
    assert chi_square_against(chosen, bins, 9) < chi_square_against(naive, bins, 9)


def test_triplets_take_positives_from_the_nearest_pool() -> None:
    sentences, embeddings = length_biased_corpus(80, seed=1)
    pairs = candidate_pairs(sentences, embeddings, num_candidates=6, positive_pool=2)
    pool = {
        (a, c)
        for a, c, p in zip(pairs.anchor, pairs.candidate, pairs.in_positive_pool, strict=True)
        if p
    }
    index = {s: i for i, s in enumerate(sentences)}
    triplets = debcse_triplets(sentences, embeddings, num_candidates=6, positive_pool=2)
    assert len(triplets) == 80
    assert all((index[t.anchor], index[t.positive]) in pool for t in triplets)
    assert all((index[t.anchor], index[t.negative]) not in pool for t in triplets)


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="positive_pool < num_candidates"):
        candidate_pairs(["a", "b", "c"], torch.randn(3, 2), num_candidates=3, positive_pool=1)
    with pytest.raises(ValueError, match=r"shape \(3, D\)"):
        candidate_pairs(["a", "b", "c"], torch.randn(4, 2), num_candidates=2, positive_pool=1)
