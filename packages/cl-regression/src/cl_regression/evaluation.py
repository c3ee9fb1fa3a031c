"""Regression quality of frozen embeddings: MAE per label-density region, distance rank agreement,
k-nearest-neighbour regression error.

The many / medium / few-shot regions follow Yang et al., "Delving into Deep Imbalanced Regression"
(2021, arXiv:2102.09554), who bin the training labels and call a bin many-shot above 100 and
few-shot below 20 training samples. Their absolute counts suit tens of thousands of samples; for
small tables the thresholds here are relative to the mean bin count :math:`\\bar c`: many-shot
:math:`c \\ge \\bar c`, few-shot :math:`c < \\bar c / 4`, medium-shot in between.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

REGIONS = ("many", "medium", "few")


def shot_regions(
    train_targets: np.ndarray, test_targets: np.ndarray, num_bins: int = 10
) -> np.ndarray:
    """Region name (``"many"``, ``"medium"``, ``"few"``) of each test target.

    Bins have equal width over the training range; test targets outside it fall in the edge bins.

    Example:
        >>> shot_regions(np.array([0.0] * 9 + [1.0]), np.array([0.0, 1.0]), num_bins=2).tolist()
        ['many', 'few']
    """
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    train_targets = np.asarray(train_targets, dtype=np.float64)
    edges = np.linspace(train_targets.min(), train_targets.max(), num_bins + 1)[1:-1]
    counts = np.bincount(np.digitize(train_targets, edges), minlength=num_bins)
    mean_count = len(train_targets) / num_bins
    test_counts = counts[np.digitize(np.asarray(test_targets, dtype=np.float64), edges)]
    return np.where(
        test_counts >= mean_count, "many", np.where(test_counts < mean_count / 4, "few", "medium")
    )


def regional_mae(
    predictions: np.ndarray, test_targets: np.ndarray, train_targets: np.ndarray, num_bins: int = 10
) -> dict[str, float]:
    """MAE overall (``"mae"``) and per region (``"mae_many"``, ...; empty regions are omitted).

    Example:
        >>> regional_mae(np.array([1.0, 2.0]), np.array([0.0, 0.0]), np.array([0.0, 1.0]))
        {'mae': 1.5, 'mae_many': 1.5}
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    test_targets = np.asarray(test_targets, dtype=np.float64)
    if predictions.shape != test_targets.shape or predictions.ndim != 1:
        raise ValueError(
            f"predictions and test_targets must be 1-D of one length, got {predictions.shape} "
            f"and {test_targets.shape}"
        )
    errors = np.abs(predictions - test_targets)
    result = {"mae": float(errors.mean())}
    regions = shot_regions(train_targets, test_targets, num_bins)
    for region in REGIONS:
        selected = regions == region
        if selected.any():
            result[f"mae_{region}"] = float(errors[selected].mean())
    return result


def distance_spearman(
    embeddings: np.ndarray, targets: np.ndarray, max_samples: int = 500, seed: int = 0
) -> float:
    """Spearman correlation between pairwise embedding distance and label distance.

    Embeddings are L2-normalised and compared by Euclidean distance over all pairs of at most
    ``max_samples`` rows (a random subset); labels by :math:`|y_i - y_j|`. A representation that
    orders samples by label gives a value near 1.

    Example:
        >>> y = np.array([0.0, 1.0, 3.0, 7.0])
        >>> round(distance_spearman(np.stack([np.cos(y / 8), np.sin(y / 8)], 1), y), 3)
        1.0
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) != len(targets) or len(targets) < 3:
        raise ValueError(
            f"embeddings must be (N, D) and targets (N,) with N >= 3, got {embeddings.shape} "
            f"and {targets.shape}"
        )
    if len(targets) > max_samples:
        chosen = np.random.default_rng(seed).choice(len(targets), max_samples, replace=False)
        embeddings, targets = embeddings[chosen], targets[chosen]
    unit = _unit_rows(embeddings)
    correlation = spearmanr(pdist(unit), pdist(targets[:, None], metric="cityblock")).statistic
    return float(correlation)


def knn_mae(
    train_embeddings: np.ndarray,
    train_targets: np.ndarray,
    test_embeddings: np.ndarray,
    test_targets: np.ndarray,
    num_neighbors: int = 10,
) -> float:
    """MAE of k-nearest-neighbour regression on frozen, L2-normalised embeddings.

    Each test row is predicted by the mean target of its ``num_neighbors`` nearest training rows
    (Euclidean distance between unit vectors, i.e. cosine similarity; scikit-learn's
    ``KNeighborsRegressor``). No parameter is fitted, so it measures the embedding alone.

    Example:
        >>> y = np.linspace(0, 1, 50)
        >>> h = np.stack([np.cos(y), np.sin(y)], 1)
        >>> round(knn_mae(h, y, h[::5], y[::5], num_neighbors=1), 6)
        0.0
    """
    from sklearn.neighbors import KNeighborsRegressor

    train_embeddings = np.asarray(train_embeddings, dtype=np.float64)
    test_embeddings = np.asarray(test_embeddings, dtype=np.float64)
    train_targets = np.asarray(train_targets, dtype=np.float64)
    test_targets = np.asarray(test_targets, dtype=np.float64)
    if (
        train_embeddings.ndim != 2
        or test_embeddings.ndim != 2
        or train_embeddings.shape[1] != test_embeddings.shape[1]
        or train_targets.shape != (len(train_embeddings),)
        or test_targets.shape != (len(test_embeddings),)
    ):
        raise ValueError(
            "train/test embeddings must be (N, D) and (M, D) with targets (N,) and (M,), got "
            f"{train_embeddings.shape}, {test_embeddings.shape}, {train_targets.shape} and "
            f"{test_targets.shape}"
        )
    if isinstance(num_neighbors, bool) or not isinstance(num_neighbors, int):
        raise TypeError(f"num_neighbors must be an int, got {type(num_neighbors).__name__}")
    if not 1 <= num_neighbors <= len(train_targets):
        raise ValueError(
            f"num_neighbors must lie in [1, {len(train_targets)}], got {num_neighbors}"
        )
    regressor = KNeighborsRegressor(n_neighbors=num_neighbors)
    regressor.fit(_unit_rows(train_embeddings), train_targets)
    predictions = regressor.predict(_unit_rows(test_embeddings))
    return float(np.abs(predictions - test_targets).mean())


def _unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean norm (all-zero rows stay zero)."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)
