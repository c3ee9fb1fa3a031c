"""End to end: a step of every method, cl-train vision in-process, bench smoke rows."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cl_core.registry import BenchContext
from cl_vision.cli import register
from cl_vision.data import load_image_split
from cl_vision.methods import METHOD_NAMES
from cl_vision.training import TrainConfig, build_module, train
from cl_vision.views import default_augmentation

pytestmark = [
    # Lightning 2.6's pytree helper uses torch's deprecated LeafSpec on every batch.
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
    pytest.mark.filterwarnings(r"ignore:The number of training batches .* is smaller"),
]


@pytest.fixture(scope="module")
def tiny_digits():
    return load_image_split("digits", train_limit=64, test_limit=40)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_each_method_step_gives_finite_loss_and_encoder_gradients(method, tiny_digits) -> None:
    config = TrainConfig(method=method, batch_size=32)
    module = build_module(config, tiny_digits.image_shape, 10, default_augmentation("digits"))
    batch = [tiny_digits.train_x[:32], tiny_digits.train_y[:32]]
    views = module.make_views(batch, torch.Generator().manual_seed(0))
    assert len(views) == config.views
    loss = module.compute_loss([module.embed(view) for view in views], batch)
    loss.backward()
    assert torch.isfinite(loss)
    grad = module.encoder.stem[0].weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0


def test_training_writes_a_checkpoint_and_moves_the_weights(tiny_digits, tmp_path) -> None:
    config = TrainConfig(method="nnclr-dcl", epochs=1, batch_size=32)
    augmentation = default_augmentation("digits")
    run = train(config, tiny_digits, tmp_path, augmentation, progress_bar=False, max_steps=2)
    assert run.samples_seen == 64
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    fresh = build_module(config, tiny_digits.image_shape, 10, augmentation)
    assert not torch.allclose(run.module.encoder.stem[0].weight, fresh.encoder.stem[0].weight)
    assert len(run.module.loss_fn.support.queue) > 0


def test_config_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="num_views"):
        TrainConfig(num_views=1)
    with pytest.raises(ValueError, match="own temperature"):
        TrainConfig(method="cacr", temperature=0.5)
    with pytest.raises(ValueError, match="method must be one of"):
        TrainConfig(method="moco")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["vision", *argv])


def test_cl_train_vision_writes_results_checkpoint_and_embeddings(tmp_path) -> None:
    out = tmp_path / "run"
    args = _parse(
        [
            *("--method", "mv-dhel", "--views", "3", "--data", "digits", "--train-limit", "96"),
            *("--epochs", "1", "--batch-size", "48", "--out", str(out), "--accelerator", "cpu"),
        ]
    )
    assert args.func(args) == 0
    report = json.loads((out / "results.json").read_text())
    assert report["method"] == "mv-dhel" and report["config"]["views"] == 3
    assert report["train_images"] == 96 and report["data_kind"] == "real"
    for name in ("knn_acc", "linear_acc", "effective_rank", "uniformity", "tolerance"):
        assert name in report["metrics"]
    assert set(report["baselines"]) == {"raw pixels", "random-init encoder"}
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert (out / "spectrum.png").stat().st_size > 0
    import numpy as np

    saved = np.load(out / "embeddings.npz")
    assert saved["features"].shape[0] == saved["labels"].shape[0] == report["test_images"]


def test_cl_train_vision_trains_on_an_image_folder(tmp_path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, level in (("dark", 30), ("light", 220)):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(10):
            pixels = np.clip(rng.normal(level, 20, size=(20, 20, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / name / f"{i}.png")
    out = tmp_path / "run"
    args = _parse(
        [
            *("--data", str(tmp_path / "imgs"), "--image-size", "16", "--epochs", "1"),
            *("--batch-size", "8", "--out", str(out), "--accelerator", "cpu"),
        ]
    )
    assert args.func(args) == 0
    report = json.loads((out / "results.json").read_text())
    assert report["train_images"] == 16 and report["test_images"] == 4
    assert "ImageFolder" in report["data_card"]


def test_cl_train_vision_bad_folder_is_one_line_error(tmp_path, capsys) -> None:
    args = _parse(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing" in err and err.startswith("cl-train vision: error")


def test_cl_train_vision_batch_larger_than_data_is_user_error(tmp_path, capsys) -> None:
    args = _parse(["--train-limit", "20", "--batch-size", "64", "--out", str(tmp_path / "o")])
    assert args.func(args) == 2
    assert "--batch-size 64" in capsys.readouterr().err


@pytest.mark.parametrize("runner", ["run_simclr", "run_temperature_sweep"])
def test_bench_smoke_rows_report_method_and_both_baselines(runner, tmp_path) -> None:
    from cl_vision import bench_run

    result = getattr(bench_run, runner)(BenchContext("digits", "smoke", 0, None, tmp_path))
    assert result.modality == "vision" and result.data_kind == "real"
    assert set(result.baselines) == {"raw pixels", "random-init encoder"}
    assert 0.0 <= result.baselines["raw pixels"]["linear_acc"] <= 1.0
    assert result.train_time_s > 0
    assert 0.0 <= result.metrics["linear_acc"] <= 1.0, "the recipes' headline"
    if runner == "run_temperature_sweep":
        assert "tolerance@nt_xent_tau0.1" in result.metrics
        assert "uniformity@hard_top16_tau1" in result.metrics
        assert result.metrics["tau_chosen_by_cv"] in (0.1, 1.0)
        tau = result.metrics["tau_chosen_by_cv"]
        assert result.metrics["linear_acc"] == result.metrics[f"linear_acc@nt_xent_tau{tau:g}"]
        assert (tmp_path / "vision-temperature-sweep-digits" / "temperature_sweep.png").is_file()


def test_bench_recipes_cover_every_method_and_import_light() -> None:
    from cl_vision.bench import RECIPES

    methods = {recipe.method for recipe in RECIPES}
    expected = (set(METHOD_NAMES) - {"hard-nce"}) | {"temperature-sweep", "mcl", "sepclr", "pixpro"}
    assert methods == expected
    for recipe in RECIPES:
        assert callable(recipe.load())
    code = "import sys, cl_vision.bench, cl_vision.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bench_rejects_unknown_dataset(tmp_path: Path) -> None:
    from cl_vision.bench_run import run_simclr

    with pytest.raises(ValueError, match="digits or fashion-mnist"):
        run_simclr(BenchContext("cifar", "smoke", 0, None, tmp_path))
