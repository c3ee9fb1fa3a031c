"""PixPro training: momentum schedule, dense labels, one epoch per method, the bench row."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from cl_core.registry import BenchContext
from cl_vision.data import load_fashion_mnist_split
from cl_vision.encoders import SmallResNet
from cl_vision.pixpro_training import (
    PixProConfig,
    cell_foreground,
    dense_backbone,
    dense_scores,
    momentum_at,
    train_dense_encoder,
)

pytestmark = [
    # Lightning 2.6's pytree helper uses torch's deprecated LeafSpec on every batch.
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
    pytest.mark.filterwarnings(r"ignore:The number of training batches .* is smaller"),
]


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
def test_one_epoch_changes_the_backbone_and_scores_are_accuracies(
    split, method: str, tmp_path
) -> None:
    config = PixProConfig(method=method, epochs=1, batch_size=32)
    torch.manual_seed(config.seed)
    initial = SmallResNet(1, stem_stride=2).state_dict()
    run = train_dense_encoder(split, config, tmp_path, progress_bar=False)
    backbone = run.backbone
    assert run.samples_seen == 128 and (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert any(
        not torch.equal(a, b)
        for a, b in zip(initial.values(), backbone.state_dict().values(), strict=True)
    )
    scores = dense_scores(backbone, split)
    assert 0.0 <= scores["linear_acc"] <= 1.0
    assert 0.0 <= scores["dense_foreground_acc"] <= 1.0
    assert 0.0 < scores["dense_foreground_rate"] < 1.0


def test_key_encoder_follows_the_online_encoder_by_momentum(split, tmp_path) -> None:
    config = PixProConfig(epochs=1, batch_size=32, base_momentum=0.5)
    torch.manual_seed(config.seed)
    initial = SmallResNet(1, stem_stride=2).stem[0].weight.detach().clone()
    captured = {}

    class KeepModule(pl.Callback):
        def on_train_end(self, trainer, module) -> None:
            captured["module"] = module

    train_dense_encoder(split, config, tmp_path, progress_bar=False, callbacks=[KeepModule()])
    module = captured["module"]
    online, key = module.backbone.stem[0].weight, module.key_backbone.stem[0].weight
    assert not torch.equal(key, initial)  # the key moved ...
    assert not torch.equal(key, online)  # ... but only part of the way (m > 0)
    assert not key.requires_grad


def test_dense_backbone_keeps_a_feature_map_on_small_images() -> None:
    assert dense_backbone((1, 8, 8)).feature_map(torch.rand(2, 1, 8, 8)).shape[-2:] == (2, 2)
    assert dense_backbone((1, 28, 28)).feature_map(torch.rand(2, 1, 28, 28)).shape[-2:] == (4, 4)


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
