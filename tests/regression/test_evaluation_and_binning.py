"""Regional MAE, distance Spearman, label binning and the tabular encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cl_regression.binning import assign_bins, bin_edges
from cl_regression.encoder import TabularEncoder, noisy_views
from cl_regression.evaluation import distance_spearman, regional_mae, shot_regions


def test_shot_regions_follow_training_density():
    train = np.array([0.1] * 50 + [0.5] * 10 + [0.95] * 2)
    regions = shot_regions(train, np.array([0.1, 0.5, 0.95, 2.0]), num_bins=3)
    assert regions.tolist() == ["many", "medium", "few", "few"]


def test_regional_mae_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.uniform(0, 1, 90), rng.uniform(9, 10, 3)])
    test = rng.uniform(0, 10, 40)
    predictions = test + rng.normal(size=40)
    scores = regional_mae(predictions, test, train)
    assert scores["mae"] == pytest.approx(np.abs(predictions - test).mean())
    regions = shot_regions(train, test)
    for region in ("many", "few"):
        chosen = regions == region
        assert scores[f"mae_{region}"] == pytest.approx(np.abs(predictions - test)[chosen].mean())


def test_regional_mae_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="predictions and test_targets"):
        regional_mae(np.zeros(3), np.zeros(4), np.zeros(5))


def test_distance_spearman_is_high_for_label_ordered_embeddings_and_low_for_noise():
    rng = np.random.default_rng(1)
    targets = rng.uniform(0, 1, 200)
    ordered = np.stack([np.cos(targets), np.sin(targets)], axis=1)
    assert distance_spearman(ordered, targets) > 0.95
    assert abs(distance_spearman(rng.normal(size=(200, 8)), targets)) < 0.1
    with pytest.raises(ValueError, match="N >= 3"):
        distance_spearman(np.zeros((2, 2)), np.zeros(2))


def test_bins_are_equal_count_or_equal_width():
    targets = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 100.0])
    quantile = assign_bins(targets, bin_edges(targets, 4, "quantile"))
    assert torch.bincount(quantile).tolist() == [2, 2, 2, 2]
    uniform = assign_bins(targets, bin_edges(targets, 4, "uniform"))
    assert uniform.tolist() == [0] * 7 + [3]
    with pytest.raises(ValueError, match="strategy must be one of"):
        bin_edges(targets, 4, "log")
    with pytest.raises(ValueError, match="num_bins must be >= 1"):
        bin_edges(targets, 0)


def test_encoder_and_views_shapes():
    encoder = TabularEncoder(5, hidden=(8,), embedding_dim=3)
    assert encoder(torch.randn(4, 5)).shape == (4, 3)
    views = noisy_views(torch.zeros(4, 5), num_views=3, noise_std=0.5)
    assert views.shape == (3, 4, 5) and views.std() > 0.3
    with pytest.raises(ValueError, match="must be >= 1"):
        TabularEncoder(0)
