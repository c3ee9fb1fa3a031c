"""M3CoL's training loss (fusion + unimodal heads + M3Co / SoftCLIP) and its toy experiment."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cl_core.losses import soft_clip
from cl_multimodal.experiments.m3col_synthetic import TwoViewConfig, compare_m3col
from cl_multimodal.m3col import FusionClassifier, m3col_loss


def _batch():
    return torch.randn(8, 5), torch.randn(8, 7), torch.randint(0, 3, (8,))


def test_without_contrastive_term_the_loss_is_the_three_cross_entropies():
    model = FusionClassifier(5, 7, classes=3)
    x_a, x_b, labels = _batch()
    fusion, head_a, head_b, _, _ = model(x_a, x_b)
    expected = sum(F.cross_entropy(z, labels) for z in (fusion, head_a, head_b))
    torch.testing.assert_close(m3col_loss(model, x_a, x_b, labels, contrastive="none"), expected)


def test_softclip_phase_adds_weighted_softclip():
    model = FusionClassifier(5, 7, classes=3)
    x_a, x_b, labels = _batch()
    _, _, _, a, b = model(x_a, x_b)
    plain = m3col_loss(model, x_a, x_b, labels, contrastive="none")
    late = m3col_loss(model, x_a, x_b, labels, mixup_phase=False, weight=0.5)
    torch.testing.assert_close(late - plain, 0.5 * soft_clip(a, b))
    early = m3col_loss(model, x_a, x_b, labels, generator=torch.Generator().manual_seed(0))
    early.backward()
    assert all(p.grad is not None for p in model.encoder_a.parameters())


def test_bad_arguments():
    model = FusionClassifier(5, 7, classes=3)
    with pytest.raises(ValueError, match="contrastive must be one of"):
        m3col_loss(model, *_batch(), contrastive="simclr")
    with pytest.raises(ValueError, match="classes >= 2"):
        FusionClassifier(5, 7, classes=1)


def test_experiment_reports_every_head_for_every_term():
    results = compare_m3col(TwoViewConfig(train_size=128, test_size=200, epochs=3))
    assert set(results) == {"m3co", "clip", "none"}
    for accuracies in results.values():
        assert set(accuracies) == {"fusion_acc", "a_acc", "b_acc"}
        assert all(0.0 <= v <= 1.0 for v in accuracies.values())
