"""CLHE: reconstruction loss against a loop reference, metrics, encoder, data and experiment."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cl_multimodal.clhe import (
    CLHE,
    BundleEncoder,
    ClheWeights,
    bundle_completion_metrics,
    multinomial_bundle_loss,
)
from cl_multimodal.data.bundles import synthetic_bundles
from cl_multimodal.experiments.clhe_bundles import BundleTrainConfig, compare_clhe, pad_bundles


def _reference_multinomial(scores, targets):
    """Loop over bundles and items: -mean_b sum_i x_bi log softmax(s_b)_i / sum_i x_bi."""
    total = 0.0
    for row, wanted in zip(scores, targets, strict=True):
        log_norm = torch.log(sum(torch.exp(s) for s in row))
        total = total - sum(x * (s - log_norm) for s, x in zip(row, wanted, strict=True)) / sum(
            wanted
        )
    return total / len(scores)


def test_multinomial_loss_matches_loop_reference_values_and_gradients():
    scores = torch.randn(3, 5, dtype=torch.float64)
    targets = torch.tensor(
        [[1.0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [1, 1, 1, 0, 2]], dtype=torch.float64
    )
    torch.testing.assert_close(
        multinomial_bundle_loss(scores, targets), _reference_multinomial(scores, targets)
    )
    assert torch.autograd.gradcheck(
        lambda s: multinomial_bundle_loss(s, targets), (scores.clone().requires_grad_(),)
    )


def test_multinomial_loss_is_log_n_at_uniform_scores_and_falls_when_targets_win():
    targets = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    assert float(multinomial_bundle_loss(torch.zeros(1, 4), targets)) == pytest.approx(math.log(4))
    better = torch.tensor([[3.0, 3.0, 0.0, 0.0]])
    assert float(multinomial_bundle_loss(better, targets)) < math.log(4)


@pytest.mark.parametrize(
    ("scores", "targets", "message"),
    [
        (torch.zeros(2, 3), torch.zeros(2, 4), "same shape"),
        (torch.zeros(2, 3), torch.tensor([[1.0, 0, 0], [0, 0, 0]]), "at least one positive"),
        (torch.zeros(1, 2), torch.tensor([[1.0, -1.0]]), "non-negative"),
        ([[0.0]], torch.ones(1, 1), "scores must be a torch"),
    ],
)
def test_multinomial_loss_rejects_bad_input(scores, targets, message):
    with pytest.raises((ValueError, TypeError), match=message):
        multinomial_bundle_loss(scores, targets)


def test_completion_metrics_match_hand_counts_and_skip_input_items():
    scores = np.array([[9.0, 8.0, 7.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0, 4.0]])
    inputs = [np.array([0]), np.array([4])]
    targets = [np.array([1, 3]), np.array([0])]
    metrics = bundle_completion_metrics(scores, inputs, targets, ks=(1, 2, 4))
    assert metrics["recall@1"] == pytest.approx((0.5 + 0.0) / 2)
    assert metrics["recall@4"] == pytest.approx(1.0)
    ideal = 1 + 1 / math.log2(3)
    assert metrics["ndcg@2"] == pytest.approx((1.0 / ideal + 0.0) / 2)
    assert metrics["ndcg@4"] == pytest.approx(
        ((1 + 1 / math.log2(4)) / ideal + 1 / math.log2(5)) / 2
    )
    with pytest.raises(ValueError, match="ks must lie"):
        bundle_completion_metrics(scores, inputs, targets, ks=(6,))
    with pytest.raises(ValueError, match="at least one target"):
        bundle_completion_metrics(scores, inputs, [np.array([1]), np.array([], dtype=int)])


def test_bundle_encoder_ignores_padding_and_item_order():
    encoder = BundleEncoder(dim=8, dropout=0.0).eval()
    items = torch.randn(6, 8)
    short = encoder(items, torch.tensor([[2, 4]]))
    padded = encoder(items, torch.tensor([[2, 4, -1, -1]]))
    reversed_order = encoder(items, torch.tensor([[4, 2, -1]]))
    torch.testing.assert_close(short, padded)
    torch.testing.assert_close(short, reversed_order)


def test_clhe_loss_has_each_term_and_gradients_reach_every_token():
    torch.manual_seed(0)
    model = CLHE(torch.randn(12, 6), torch.randn(12, 5), dim=8)
    full = pad_bundles([np.array([0, 1, 2]), np.array([3, 4, 5, 6])])
    partial = pad_bundles([np.array([0]), np.array([3, 4])])
    torch.manual_seed(1)
    with_cl = model.loss(partial, full)
    model.weights = ClheWeights(item_alpha=0.0, bundle_alpha=0.0)
    torch.manual_seed(1)
    without_cl = model.loss(partial, full)
    assert float(with_cl.detach()) > float(without_cl.detach()) > 0
    with_cl.backward()
    for module in (model.items.visual_mlp, model.items.text_mlp, model.items.item_ids):
        assert any(float(p.grad.abs().sum()) > 0 for p in module.parameters())
    with pytest.raises(ValueError, match="same B"):
        model.loss(partial[:1], full)


def test_dropping_the_visual_token_changes_only_what_it_should():
    torch.manual_seed(0)
    model = CLHE(torch.randn(12, 6), torch.randn(12, 5), dim=8).eval()
    with torch.no_grad():
        full_view, text_view = model.items(), model.items(drop_visual=True)
        model.items.visual.mul_(5.0)
        torch.testing.assert_close(model.items(drop_visual=True), text_view)
        assert not torch.allclose(model.items(), full_view)
    with pytest.raises(ValueError, match="token_dropout"):
        model.items(token_dropout=1.0)


def test_synthetic_bundles_are_cluster_coherent_and_split():
    data = synthetic_bundles(60, 5, 200, cross_rate=0.0, seed=3)
    assert len(data.train_bundles) == 160 and len(data.test_inputs) == 40
    for bundle in data.train_bundles:
        assert len(set(data.clusters[bundle])) == 1 and 3 <= len(bundle) <= 6
    for given, wanted in zip(data.test_inputs, data.test_targets, strict=True):
        assert len(given) >= 1 and len(wanted) >= 1 and not set(given) & set(wanted)
    with pytest.raises(ValueError, match="num_items >= 6"):
        synthetic_bundles(10, 5, 100)


def test_trained_methods_beat_popularity_on_held_out_bundles():
    data = synthetic_bundles(60, 5, 300, seed=0)
    metrics, seconds = compare_clhe(data, BundleTrainConfig(epochs=3, batch_size=64, dim=16))
    assert set(metrics) == {"clhe", "no-cl", "mean-pooling", "popularity"}
    assert metrics["mean-pooling"]["recall@10"] > metrics["popularity"]["recall@10"]
    assert all(0.0 <= v <= 1.0 for m in metrics.values() for v in m.values())
    assert set(seconds) == set(metrics)
    assert "recall@10_no_visual" in metrics["clhe"]
    popularity = metrics["popularity"]
    assert popularity["recall@10"] == popularity["recall@10_no_visual"]
    with pytest.raises(ValueError, match="methods must be"):
        compare_clhe(data, BundleTrainConfig(epochs=1), methods=("bpr",))
