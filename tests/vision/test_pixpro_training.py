"""PixPro training: momentum schedule, dense labels, one epoch per method, the bench row."""

from __future__ import annotations

import pytest
import torch

from cl_core.registry import BenchContext
from cl_vision.data import load_fashion_mnist_split
from cl_vision.encoders import SmallResNet
from cl_vision.pixpro_training import (
    PixProConfig,
    cell_foreground,
    dense_scores,
    momentum_at,
    train_dense_encoder,
)


@pytest.fixture(scope="module")
def split():
    return load_fashion_mnist_split(train_limit=128, test_limit=60, seed=0)


def test_momentum_rises_from_the_base_to_one() -> None:
    assert momentum_at(0, 100, 0.99) == pytest.approx(0.99)
    assert momentum_at(50, 100, 0.99) == pytest.approx(0.995)
    assert momentum_at(100, 100, 0.99) == pytest.approx(1.0)


def test_cell_foreground_marks_cells_mostly_covered_by_the_item() -> None:
    images = torch.zeros(1, 1, 4, 4)
    images[0, 0, :2, :2] = 0.5  # top-left cell fully covered
    images[0, 0, 2, 2] = 0.5  # a quarter of the bottom-right cell
    assert cell_foreground(images, (2, 2)).tolist() == [[[1, 0], [0, 0]]]


@pytest.mark.parametrize("method", ["pixpro", "simclr"])
def test_one_epoch_changes_the_backbone_and_scores_are_accuracies(split, method: str) -> None:
    config = PixProConfig(method=method, epochs=1, batch_size=32)
    torch.manual_seed(config.seed)
    initial = SmallResNet(1, stem_stride=2).state_dict()
    backbone = train_dense_encoder(split, config)
    assert any(
        not torch.equal(a, b)
        for a, b in zip(initial.values(), backbone.state_dict().values(), strict=True)
    )
    scores = dense_scores(backbone, split)
    assert 0.0 <= scores["linear_acc"] <= 1.0
    assert 0.0 <= scores["dense_foreground_acc"] <= 1.0
    assert 0.0 < scores["dense_foreground_rate"] < 1.0


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        PixProConfig(method="byol")
    with pytest.raises(ValueError, match="base_momentum"):
        PixProConfig(base_momentum=1.0)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        PixProConfig(epochs=0)


def test_bench_smoke_row_reports_pixpro_and_both_baselines(tmp_path) -> None:
    from cl_vision.bench_run import run_pixpro

    result = run_pixpro(BenchContext("fashion-mnist", "smoke", 0, None, tmp_path))
    assert result.method == "pixpro" and result.data_kind == "real"
    assert {"linear_acc", "dense_foreground_acc"} <= set(result.metrics)
    assert set(result.baselines) == {"SimCLR (same encoder and crops)", "random-init encoder"}
