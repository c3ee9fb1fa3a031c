"""The SupReMix sanity check of the method notes: a 1-D target behind a noisy nonlinear embedding.

SupReMix's frozen features should order samples by label better than plain SupCon's (Spearman
between embedding and label distances) and, with positives defined by the exact label as in the
paper, also give a lower k-nearest-neighbour regression error.
"""

from __future__ import annotations

import numpy as np
import pytest

from cl_regression.data import make_synthetic_curve
from cl_regression.evaluation import distance_spearman, knn_mae
from cl_regression.training import TrainConfig, fit_regressor


def _frozen_scores(method: str, config: TrainConfig, seed: int = 0) -> tuple[float, float]:
    data = make_synthetic_curve(300, 300, seed=seed)
    fitted = fit_regressor(
        method, data.train_features, data.train_targets, config=config, seed=seed
    )
    train, test = fitted.embed(data.train_features), fitted.embed(data.test_features)
    return (
        knn_mae(train, data.train_targets, test, data.test_targets),
        distance_spearman(test, data.test_targets, seed=seed),
    )


def test_with_exact_label_positives_supremix_beats_supcon_on_knn_error_and_ordering():
    # num_bins above the row count puts every distinct target in its own bin (exact labels).
    config = TrainConfig(epochs=8, num_bins=1000, num_negative_mixtures=8, num_positive_mixtures=8)
    supremix_mae, supremix_rho = _frozen_scores("supremix", config)
    supcon_mae, supcon_rho = _frozen_scores("supcon", config)
    assert supremix_mae < supcon_mae
    assert supremix_rho > supcon_rho + 0.1


def test_with_label_bins_supremix_orders_embeddings_by_label_better_than_supcon():
    config = TrainConfig(epochs=8, num_bins=10, num_negative_mixtures=8, num_positive_mixtures=8)
    assert _frozen_scores("supremix", config)[1] > _frozen_scores("supcon", config)[1]


def test_synthetic_curve_is_a_smooth_function_of_the_target_plus_noise():
    clean = make_synthetic_curve(200, 50, noise_std=0.0, seed=3)
    noisy = make_synthetic_curve(200, 50, noise_std=0.5, seed=3)
    assert clean.train_features.shape == (200, 16) and clean.test_targets.shape == (50,)
    assert clean.train_targets.min() >= 0 and clean.train_targets.max() < 1
    # Same seed, same curve and targets: the noisy rows differ from the clean ones by the noise.
    np.testing.assert_array_equal(clean.train_targets, noisy.train_targets)
    residual = noisy.train_features - clean.train_features
    assert residual.std() == pytest.approx(0.5, rel=0.05)
    # Without noise the embedding is Lipschitz in y: |dx_k/dy| <= 2 pi f_k <= 6 pi per column.
    order = np.argsort(clean.train_targets)
    steps = np.linalg.norm(np.diff(clean.train_features[order], axis=0), axis=1)
    gaps = np.diff(clean.train_targets[order])
    assert np.all(steps <= 6 * np.pi * np.sqrt(16) * gaps + 1e-12)
    assert knn_mae(clean.train_features, clean.train_targets, clean.test_features,
                   clean.test_targets, num_neighbors=1) < 0.01  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_train": 1}, "num_train must be an int >= 2"),
        ({"num_test": 0}, "num_test must be an int >= 1"),
        ({"num_features": 2.0}, "num_features must be an int >= 1"),
        ({"noise_std": -0.1}, "noise_std must be >= 0"),
    ],
)
def test_synthetic_curve_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_curve(**kwargs)


def test_knn_mae_is_zero_on_training_rows_and_checks_shapes():
    rng = np.random.default_rng(0)
    embeddings, targets = rng.normal(size=(30, 4)), rng.random(30)
    assert knn_mae(embeddings, targets, embeddings, targets, num_neighbors=1) == 0.0
    mean_predictor = np.abs(targets - targets.mean()).mean()
    assert knn_mae(embeddings, targets, embeddings, targets, num_neighbors=30) == pytest.approx(
        mean_predictor
    )
    with pytest.raises(ValueError, match="num_neighbors must lie in"):
        knn_mae(embeddings, targets, embeddings, targets, num_neighbors=31)
    with pytest.raises(TypeError, match="num_neighbors must be an int"):
        knn_mae(embeddings, targets, embeddings, targets, num_neighbors=2.0)
    with pytest.raises(ValueError, match="embeddings must be"):
        knn_mae(embeddings, targets, embeddings[:, :3], targets)
