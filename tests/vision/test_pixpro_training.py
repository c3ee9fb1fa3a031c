"""PixPro training: momentum schedule, dense labels, one epoch per method, the bench row."""

from __future__ import annotations

from dataclasses import replace

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

import cl_core.evaluation.subsampled_probe as subsampled_probe
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID
from cl_core.registry import BenchContext
from cl_vision.data import load_fashion_mnist_split
from cl_vision.encoders import SmallResNet
from cl_vision.pixpro_training import (
    PixProConfig,
    cell_foreground,
    dense_backbone,
    dense_foreground_scores,
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
def split(require_data):
    require_data("fashion-mnist")
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
    assert scores["linear_c"] in DEFAULT_C_GRID and scores["dense_foreground_c"] in DEFAULT_C_GRID


@pytest.fixture
def searches(monkeypatch) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Every (features, labels, chosen C) the CV search for a probe's C is given."""
    seen = []
    original = subsampled_probe.choose_inverse_regularization

    def spy(train_x, train_y, **kwargs):
        chosen = original(train_x, train_y, **kwargs)
        seen.append((np.asarray(train_x), np.asarray(train_y), chosen[0]))
        return chosen

    monkeypatch.setattr(subsampled_probe, "choose_inverse_regularization", spy)
    return seen


def test_both_probes_choose_c_on_training_features_only(split, searches) -> None:
    torch.manual_seed(0)
    backbone = dense_backbone(split.image_shape).eval()
    scores = dense_scores(backbone, split)
    with torch.no_grad():
        train_maps = backbone.feature_map(split.train_x)
    pooled, cells = searches
    assert np.allclose(pooled[0], train_maps.mean(dim=(2, 3)).double().numpy())
    assert pooled[1].tolist() == split.train_y.tolist()
    assert np.allclose(cells[0], train_maps.permute(0, 2, 3, 1).reshape(-1, 128).double().numpy())
    assert cells[1].tolist() == cell_foreground(split.train_x, (4, 4)).reshape(-1).tolist()
    assert (scores["linear_c"], scores["dense_foreground_c"]) == (pooled[2], cells[2])
    # Other test images and labels change nothing about the chosen C.
    scrambled = replace(split, test_x=split.test_x.flip(-1), test_y=split.test_y.roll(1))
    other = dense_scores(backbone, scrambled)
    assert (other["linear_c"], other["dense_foreground_c"]) == (pooled[2], cells[2])


def test_dense_probe_uses_at_most_max_cells_training_cells(split, searches) -> None:
    torch.manual_seed(0)
    backbone = dense_backbone(split.image_shape).eval()
    scores = dense_foreground_scores(backbone, split, max_cells=90)
    assert set(scores) == {"dense_foreground_acc", "dense_foreground_c", "dense_foreground_rate"}
    assert [len(labels) for _, labels, _ in searches] == [90]
    with pytest.raises(ValueError, match="max_cells must be an int >= 1"):
        dense_foreground_scores(backbone, split, max_cells=0)


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


@pytest.mark.requires_data("fashion-mnist")
def test_bench_smoke_row_reports_pixpro_and_both_baselines(tmp_path) -> None:
    from cl_vision.bench_run import run_pixpro

    result = run_pixpro(BenchContext("fashion-mnist", "smoke", 0, None, tmp_path))
    assert result.method == "pixpro" and result.data_kind == "real"
    assert {"linear_acc", "linear_c", "dense_foreground_acc", "dense_foreground_c"} <= set(
        result.metrics
    )
    assert set(result.baselines) == {"SimCLR (same encoder and crops)", "random-init encoder"}
