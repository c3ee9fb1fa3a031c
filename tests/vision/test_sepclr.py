"""SepCLR on background / target images: the data, one training step, the probes, the bench row."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

import cl_core.evaluation.subsampled_probe as subsampled_probe
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID
from cl_core.registry import BenchContext
from cl_vision.contrastive_analysis import load_contrastive_analysis, paste_digits
from cl_vision.sepclr import (
    SepCLRConfig,
    TwoSpaceEncoder,
    embed_spaces,
    raw_pixel_probe_scores,
    space_probe_scores,
    train_two_space_encoder,
)

pytestmark = [
    # Lightning 2.6's pytree helper uses torch's deprecated LeafSpec on every batch.
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
    pytest.mark.filterwarnings(r"ignore:The number of training batches .* is smaller"),
]


@pytest.fixture(scope="module")
def data(require_data):
    require_data("fashion-mnist")
    return load_contrastive_analysis(train_limit=200, test_limit=100, seed=0)


def test_pasting_replaces_only_the_centre_window() -> None:
    items = torch.full((2, 1, 28, 28), 0.5)
    digits = torch.zeros(2, 1, 8, 8)
    out = paste_digits(items, digits)
    assert torch.all(out[:, :, 7:21, 7:21] == 0.0)
    outside = torch.ones(28, 28, dtype=torch.bool)
    outside[7:21, 7:21] = False
    assert torch.all(out[:, 0][:, outside] == 0.5)
    with pytest.raises(ValueError, match="digits must have shape"):
        paste_digits(items, torch.zeros(3, 1, 8, 8))
    with pytest.raises(ValueError, match="items must have shape"):
        paste_digits(torch.zeros(2, 1, 32, 32), digits)


def test_data_marks_half_the_images_as_targets_with_a_digit(data) -> None:
    for split in (data.train, data.test):
        assert split.images.shape[1:] == (1, 28, 28)
        assert int(split.is_target.sum()) == split.images.shape[0] // 2
        assert torch.all(split.digit[~split.is_target] == -1)
        assert set(split.digit[split.is_target].tolist()) <= set(range(10))
    # the digit is readable from raw pixels, so a space that drops it lost it
    raw = raw_pixel_probe_scores(data)
    assert raw["digit"] > 0.5 and raw["item"] > 0.4
    assert raw["digit_c"] in DEFAULT_C_GRID and raw["item_c"] in DEFAULT_C_GRID


@pytest.mark.parametrize("method", ["sepclr", "simclr"])
def test_one_epoch_trains_and_every_probe_is_an_accuracy(data, method: str, tmp_path) -> None:
    config = SepCLRConfig(method=method, epochs=1, batch_size=32, lr=1e-3)
    torch.manual_seed(config.seed)
    before = TwoSpaceEncoder(config.space_dim)  # the initial weights of the trained model
    run = train_two_space_encoder(data.train, config, tmp_path, progress_bar=False)
    model = run.model
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert run.samples_seen == (len(data.train.images) // 2 // 16) * 32
    changed = any(
        not torch.equal(a, b)
        for a, b in zip(before.state_dict().values(), model.state_dict().values(), strict=True)
    )
    assert changed
    scores = space_probe_scores(model, data)
    probes = ("digit_from_salient", "item_from_salient", "digit_from_common", "item_from_common")
    assert set(scores) == {*probes, *(f"{name}_c" for name in probes)}
    assert all(0.0 <= scores[name] <= 1.0 for name in probes)
    assert all(scores[f"{name}_c"] in DEFAULT_C_GRID for name in probes)


def test_space_probes_choose_c_on_training_embeddings_only(data, monkeypatch) -> None:
    searched = []
    original = subsampled_probe.choose_inverse_regularization

    def spy(train_x, train_y, **kwargs):
        chosen = original(train_x, train_y, **kwargs)
        searched.append((np.asarray(train_x), chosen[0]))
        return chosen

    monkeypatch.setattr(subsampled_probe, "choose_inverse_regularization", spy)
    torch.manual_seed(0)
    model = TwoSpaceEncoder().eval()
    scores = space_probe_scores(model, data)
    common, salient = (space.double().numpy() for space in embed_spaces(model, data.train.images))
    targets = data.train.is_target.numpy()
    expected = [salient[targets], salient, common[targets], common]
    assert len(searched) == 4
    for (features, _), train_features in zip(searched, expected, strict=True):
        assert np.allclose(features, train_features, atol=1e-6)
    names = ("digit_from_salient", "item_from_salient", "digit_from_common", "item_from_common")
    chosen = [c for _, c in searched]
    assert [scores[f"{name}_c"] for name in names] == chosen
    # Other test images change nothing about the chosen C.
    flipped = replace(data, test=replace(data.test, images=data.test.images.flip(-1)))
    other = space_probe_scores(model, flipped)
    assert [other[f"{name}_c"] for name in names] == chosen


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        SepCLRConfig(method="moco")
    with pytest.raises(ValueError, match="batch_size must be >= 4"):
        SepCLRConfig(batch_size=2)
    with pytest.raises(ValueError, match="lr and temperature must be > 0"):
        SepCLRConfig(lr=0.0)


@pytest.mark.requires_data("fashion-mnist")
def test_bench_smoke_row_reports_sepclr_and_its_three_baselines(tmp_path) -> None:
    from cl_vision.bench_run import run_sepclr

    result = run_sepclr(BenchContext("fashion-mnist+digits", "smoke", 0, None, tmp_path))
    assert result.method == "sepclr" and result.data_kind == "real"
    assert {"digit_from_salient", "digit_from_common", "digit_from_salient_c"} <= set(
        result.metrics
    )
    assert set(result.baselines["single-space SimCLR"]) == {
        "digit_from_space",
        "digit_from_space_c",
        "item_from_space",
        "item_from_space_c",
    }
    assert set(result.baselines["raw pixels"]) == {"digit", "digit_c", "item", "item_c"}
    assert set(result.baselines) == {
        "SepCLR without k-JEM",
        "single-space SimCLR",
        "raw pixels",
    }
