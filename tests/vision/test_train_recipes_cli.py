"""``cl-train vision --method mcl | pixpro | sepclr`` end to end on tiny data, resume, bad flags."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from cl_vision.cli import register

pytestmark = [
    # Lightning 2.6's pytree helper uses torch's deprecated LeafSpec on every batch.
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
    pytest.mark.filterwarnings(r"ignore:The number of training batches .* is smaller"),
    # A resumed run writes into the folder of the run it continues, as intended.
    pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty"),
    pytest.mark.filterwarnings("ignore:Experiment logs directory .* exists and is not empty"),
]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["vision", *argv])


def _run(argv: list[str]) -> int:
    args = _parse([*argv, "--accelerator", "cpu"])
    return args.func(args)


def _write_images(root: Path, groups: dict[str, int], count: int, seed: int) -> Path:
    """``root/<group>/<i>.png``: 12x12 RGB noise around a per-group grey level."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name, level in groups.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = np.clip(rng.normal(level, 25, size=(12, 12, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_mcl_trains_every_stage_and_reports_concatenated_features(tmp_path) -> None:
    out = tmp_path / "mcl"
    argv = ["--method", "mcl", "--stages", "2", "--clusters", "3", "--train-limit", "96"]
    assert _run([*argv, "--epochs", "1", "--batch-size", "16", "--out", str(out)]) == 0
    report = json.loads((out / "results.json").read_text())
    assert report["method"] == "mcl" and report["config"]["stages"] == 2
    assert report["config"]["stage_method"] == "simclr" and report["config"]["clusters"] == 3
    for name in ("knn_acc", "linear_acc", "effective_rank", "linear_acc_stage0"):
        assert 0.0 <= report["metrics"][name] <= 128.0
    assert "linear_acc_stage1" in report["metrics"]
    assert set(report["baselines"]) == {"raw pixels", "random-init encoder"}
    for stage in (0, 1):
        assert (out / f"stage{stage}" / "checkpoints" / "last.ckpt").is_file()
    saved = np.load(out / "embeddings.npz")
    assert saved["features"].shape == (report["test_images"], 2 * 128)
    assert (out / "spectrum.png").stat().st_size > 0


def test_pixpro_trains_on_digits_with_dense_probe_and_resumes(tmp_path) -> None:
    out = tmp_path / "pixpro"
    argv = ["--method", "pixpro", "--train-limit", "64", "--batch-size", "32", "--out", str(out)]
    assert _run([*argv, "--epochs", "1"]) == 0
    first = json.loads((out / "results.json").read_text())
    assert first["method"] == "pixpro" and first["config"]["lr"] == pytest.approx(1e-3)
    assert first["config"]["threshold"] == pytest.approx(0.7)
    for name in ("linear_acc", "knn_acc", "dense_foreground_acc"):
        assert 0.0 <= first["metrics"][name] <= 1.0
    assert "dense_foreground_acc" in first["baselines"]["random-init encoder"]
    assert first["metrics"]["dense_foreground_c"] in (0.01, 0.1, 1.0, 10.0)
    assert (out / "checkpoints" / "step=2.ckpt").is_file()
    # A second epoch continues from the checkpoint: the step count goes on from 2 to 4.
    assert _run([*argv, "--epochs", "2", "--resume"]) == 0
    assert (out / "checkpoints" / "step=4.ckpt").is_file()
    second = json.loads((out / "results.json").read_text())
    assert second["config"]["epochs"] == 2


def test_sepclr_trains_on_background_and_target_folders(tmp_path) -> None:
    background = _write_images(tmp_path / "bg", {"any": 60}, 10, seed=0)
    target = _write_images(tmp_path / "tg", {"dark": 40, "light": 200}, 10, seed=1)
    out = tmp_path / "sepclr"
    argv = ["--method", "sepclr", "--background", str(background), "--target", str(target)]
    argv += ["--image-size", "12", "--epochs", "1", "--batch-size", "8", "--out", str(out)]
    assert _run(argv) == 0
    report = json.loads((out / "results.json").read_text())
    assert report["method"] == "sepclr" and report["data_kind"] == "user images"
    assert report["config"]["temperature"] == 0.5 and report["config"]["lr"] == 3e-4
    metrics = report["metrics"]
    assert 0.0 <= metrics["target_class_from_salient"] <= 1.0
    assert 0.0 <= metrics["target_class_from_common"] <= 1.0
    assert metrics["salient_norm_target"] >= 0.0 and metrics["salient_norm_background"] >= 0.0
    assert 0.0 <= report["baselines"]["raw pixels"]["target_class"] <= 1.0
    assert report["baselines"]["raw pixels"]["target_class_c"] > 0.0
    assert "target_class_from_salient_c" in metrics
    # 80/20 split per folder: 16 of 20 target and 8 of 10 background images train.
    assert report["train_images"] == 16 + 8 and report["test_images"] == 4 + 2
    saved = np.load(out / "embeddings.npz")
    assert saved["common"].shape == saved["salient"].shape == (6, 32)
    assert saved["is_target"].sum() == 4
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert (out / "salient_norms.png").stat().st_size > 0


@pytest.mark.requires_data("fashion-mnist")
def test_sepclr_trains_on_the_built_in_fashion_mnist_set(tmp_path) -> None:
    out = tmp_path / "sepclr"
    argv = ["--method", "sepclr", "--data", "fashion-mnist", "--train-limit", "64"]
    assert _run([*argv, "--epochs", "1", "--batch-size", "32", "--out", str(out)]) == 0
    report = json.loads((out / "results.json").read_text())
    assert report["data_kind"] == "real" and "pasted" in report["data_card"]
    assert {"digit_from_salient", "digit_from_common", "item_from_common"} <= set(report["metrics"])
    assert set(report["baselines"]["raw pixels"]) == {"digit", "digit_c", "item", "item_c"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--background", "x", "--target", "y"], "add --method sepclr"),
        (["--method", "sepclr", "--background", "x"], "needs both --background"),
        (["--method", "sepclr"], "needs --background DIR --target DIR"),
        (["--method", "pixpro", "--encoder", "efficientnet-lite0"], "drop --encoder"),
        (["--method", "pixpro", "--views", "3"], "drop --views"),
        (["--method", "pixpro", "--temperature", "0.2"], "no temperature"),
        (["--method", "pixpro", "--base-momentum", "1.0"], "base_momentum must be in [0, 1)"),
        (["--method", "mcl", "--train-limit", "40", "--clusters", "50"], "--clusters 50"),
        (["--method", "mcl", "--stage-method", "cacr", "--temperature", "0.2"], "own temperature"),
    ],
)
def test_bad_recipe_flags_are_one_line_errors(argv, message, tmp_path, capsys) -> None:
    assert _run([*argv, "--batch-size", "8", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("cl-train vision: error")
    assert message in err


def test_sepclr_missing_folder_is_named_in_the_error(tmp_path, capsys) -> None:
    target = _write_images(tmp_path / "tg", {"a": 40, "b": 200}, 3, seed=0)
    argv = ["--method", "sepclr", "--background", str(tmp_path / "nowhere")]
    assert _run([*argv, "--target", str(target), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nowhere" in err


def test_clusters_below_two_are_rejected_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        _parse(["--method", "mcl", "--clusters", "1"])


def test_lr_defaults_follow_the_method() -> None:
    from cl_vision.cli import resolved_lr

    assert resolved_lr(_parse(["--method", "simclr"])) == pytest.approx(2e-3)
    assert resolved_lr(_parse(["--method", "sepclr"])) == pytest.approx(3e-4)
    assert resolved_lr(_parse(["--method", "sepclr", "--lr", "0.01"])) == pytest.approx(0.01)
