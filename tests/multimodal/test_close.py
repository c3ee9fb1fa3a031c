"""CLOSE's modality-gap noise and the text-only-training experiment."""

from __future__ import annotations

import pytest
import torch

from cl_multimodal.close import ModalityGapNoise, modality_gap_noise
from cl_multimodal.experiments.close_synthetic import GapConfig, compare_close


def test_noise_gives_unit_rows_with_the_requested_spread():
    base = torch.nn.functional.normalize(torch.randn(2000, 64), dim=-1)
    noisy = modality_gap_noise(base, 0.05, torch.Generator().manual_seed(123))
    torch.testing.assert_close(noisy.norm(dim=1), torch.ones(2000))
    # Before re-normalisation the perturbation has per-coordinate std w, so ||eps|| ~ w sqrt(D).
    distance = (noisy - base).norm(dim=1).mean()
    assert 0.7 * 0.05 * 64**0.5 < distance < 1.3 * 0.05 * 64**0.5


def test_zero_noise_and_eval_mode_only_normalise():
    x = torch.randn(5, 3)
    expected = torch.nn.functional.normalize(x, dim=-1)
    torch.testing.assert_close(modality_gap_noise(x, 0.0), expected)
    torch.testing.assert_close(ModalityGapNoise(0.5).eval()(x), expected)
    assert not torch.allclose(ModalityGapNoise(0.5).train()(x), expected)


def test_bad_noise_inputs():
    with pytest.raises(ValueError, match="std must be >= 0"):
        modality_gap_noise(torch.randn(2, 3), -0.1)
    with pytest.raises(ValueError, match=r"shape \(N, D\)"):
        modality_gap_noise(torch.randn(3), 0.1)
    with pytest.raises(TypeError, match="torch"):
        modality_gap_noise([[1.0]], 0.1)
    with pytest.raises(ValueError, match="std"):
        ModalityGapNoise(-1.0)


def test_text_only_classifier_transfers_but_trails_the_image_trained_one():
    config = GapConfig(train_size=300, test_size=300, epochs=30)
    metrics = compare_close(config, noise_levels=(0.0, 0.1))
    assert metrics["image_trained_acc"] > 0.8
    assert 0.2 < metrics["close_best_acc"] <= metrics["image_trained_acc"] + 0.02
    assert metrics["close_best_noise"] in (0.0, 0.1)
    with pytest.raises(ValueError, match="noise_levels"):
        compare_close(config, noise_levels=())
