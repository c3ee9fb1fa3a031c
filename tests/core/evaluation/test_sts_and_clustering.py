"""Spearman against scipy and a rank-correlation loop; k-means NMI/ARI on real digits.

Data card: ``load_digits`` ships with scikit-learn (real images); the Spearman inputs are random.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.datasets import load_digits

from cl_core.evaluation import clustering_scores, spearman, spearman_x100


def loop_average_ranks(values):
    """1-based ranks, tied values sharing the mean of the ranks they span."""
    ranks = [0.0] * len(values)
    for i, value in enumerate(values):
        below = sum(1 for other in values if other < value)
        equal = sum(1 for other in values if other == value)
        ranks[i] = below + (equal + 1) / 2
    return ranks


def loop_spearman(predicted, gold):
    """Pearson correlation of the average ranks."""
    a, b = loop_average_ranks(list(predicted)), loop_average_ranks(list(gold))
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    covariance = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    spread_a = sum((x - mean_a) ** 2 for x in a) ** 0.5
    spread_b = sum((y - mean_b) ** 2 for y in b) ** 0.5
    return covariance / (spread_a * spread_b)


def test_spearman_matches_scipy_and_the_rank_loop_with_ties() -> None:
    generator = np.random.default_rng(0)
    predicted = generator.normal(size=40)
    gold = np.round(predicted + generator.normal(size=40), 0)  # rounding makes ties
    got = spearman(predicted, gold)
    assert got == pytest.approx(spearmanr(predicted, gold).statistic)
    assert got == pytest.approx(loop_spearman(predicted, gold))
    assert spearman_x100(torch.from_numpy(predicted), gold) == pytest.approx(100 * got)


def test_spearman_is_invariant_to_monotone_transforms() -> None:
    generator = np.random.default_rng(1)
    predicted, gold = generator.normal(size=30), generator.normal(size=30)
    assert spearman(np.exp(predicted), gold) == pytest.approx(spearman(predicted, gold))
    assert spearman(-predicted, gold) == pytest.approx(-spearman(predicted, gold))


def test_spearman_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="predicted and gold must have the same length"):
        spearman([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="gold must not be constant"):
        spearman([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="at least 2 scores"):
        spearman([1.0], [2.0])
    with pytest.raises(ValueError, match="predicted must be a non-empty 1-D array"):
        spearman([], [])
    with pytest.raises(ValueError, match="gold must be finite"):
        spearman([1.0, 2.0], [1.0, float("nan")])


def test_kmeans_on_raw_digits_recovers_the_classes() -> None:
    x, y = load_digits(return_X_y=True)
    scores = clustering_scores(x, y, n_clusters=10, n_init=3)
    assert scores["nmi"] > 0.6
    assert scores["ari"] > 0.5
    assert clustering_scores(x, y, n_clusters=10, n_init=3) == scores


def test_perfectly_separated_clusters_score_one_under_any_label_names() -> None:
    generator = np.random.default_rng(2)
    labels = np.repeat(np.array([7, 3, 5]), 20)
    centres = {7: [0.0, 0.0], 3: [20.0, 0.0], 5: [0.0, 20.0]}
    x = np.array([centres[label] for label in labels]) + generator.normal(size=(60, 2))
    assert clustering_scores(x, labels, n_clusters=3) == pytest.approx({"nmi": 1.0, "ari": 1.0})


def test_random_features_score_near_zero_ari() -> None:
    generator = np.random.default_rng(3)
    labels = generator.integers(0, 4, size=200)
    scores = clustering_scores(generator.normal(size=(200, 3)), labels, n_clusters=4)
    assert abs(scores["ari"]) < 0.05


def test_clustering_rejects_bad_inputs() -> None:
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"n_clusters must be an int in \[2, N=5\]"):
        clustering_scores(x, np.arange(5), n_clusters=6)
    with pytest.raises(ValueError, match=r"labels must have shape \(5,\)"):
        clustering_scores(x, np.arange(4), n_clusters=2)
