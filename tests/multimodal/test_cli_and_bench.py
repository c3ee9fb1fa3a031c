"""``cl-train multimodal`` end to end (in process), its one-line errors, and the bench recipes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
import torch
from PIL import Image

from cl_core.registry import BenchContext, BenchResult
from cl_multimodal import bench
from cl_multimodal.cli import register

NEEDS_NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible")


def _parse(argv):
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["multimodal", *argv])


@pytest.fixture
def caption_folder(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    rows = ["image,caption,label"]
    for i, (color, shape) in enumerate([("red", "dot"), ("blue", "dot"), ("red", "bar")] * 4):
        Image.new("RGB", (24, 24), color).save(folder / f"{i}.png")
        rows.append(f"{i}.png,a {color} {shape} number {i},{color}")
    (folder / "captions.csv").write_text("\n".join(rows) + "\n")
    return folder


# Lightning warns when a resumed run writes into its own log and checkpoint folders.
@pytest.mark.filterwarnings("ignore:Experiment logs directory:UserWarning")
@pytest.mark.filterwarnings("ignore:Checkpoint directory:UserWarning")
def test_trains_on_a_caption_folder_and_resumes(tmp_path, caption_folder, capsys):
    out = tmp_path / "run"
    common = ["--data", str(caption_folder), "--out", str(out), "--batch-size", "4"]
    args = _parse([*common, "--epochs", "1", "--improved", "--test-fraction", "0.25"])
    assert args.func(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["i2t_R@1"] <= 1.0 and "zero_shot_acc" in metrics
    config = json.loads((out / "config.json").read_text())
    assert config["improved"] and config["train_pairs"] == 9 and config["test_pairs"] == 3
    assert set(torch.load(out / "model.pt", weights_only=True)) >= {"criterion.log_logit_scale"}
    assert "wrote" in capsys.readouterr().out
    # 9 training pairs at batch 4: 2 steps per epoch; the engine checkpoints every epoch.
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 2
    resumed = _parse(
        [*common, "--epochs", "2", "--improved", "--test-fraction", "0.25", "--resume"]
    )
    assert resumed.func(resumed) == 0
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 4


@pytest.mark.parametrize("addon", ["cl2l", "siamlip"])
def test_ssl_addons_train_from_the_command_line(tmp_path, caption_folder, addon):
    out = tmp_path / addon
    args = _parse(
        [
            "--data",
            str(caption_folder),
            "--out",
            str(out),
            "--batch-size",
            "4",
            "--epochs",
            "1",
            "--improved",
            "--ssl-addon",
            addon,
            "--test-fraction",
            "0.25",
        ]
    )
    assert args.func(args) == 0
    assert json.loads((out / "config.json").read_text())["ssl_addon"] == addon
    weights = torch.load(out / "model.pt", weights_only=True)
    assert any(name.startswith("cl2l.") for name in weights)
    assert any(name.startswith("siamlip.") for name in weights) == (addon == "siamlip")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "{missing}"], "not a folder of image-caption pairs"),
        (["--data", "{bad}"], r"captions\.csv:1: expected the header"),
        pytest.param(
            ["--data", "{bad}", "--accelerator", "gpu"],
            "no CUDA GPU is visible",
            marks=NEEDS_NO_GPU,
        ),
        pytest.param(
            ["--data", "{bad}", "--precision", "16-mixed"], "needs a CUDA GPU", marks=NEEDS_NO_GPU
        ),
        (["--data", "{bad}", "--resume", "{missing}.ckpt"], "no checkpoint at"),
    ],
)
def test_bad_input_gives_one_line_error_and_exit_2(tmp_path, capsys, extra, message):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "captions.csv").write_text("file,text\n")
    argv = [a.format(missing=tmp_path / "nope", bad=bad) for a in extra]
    if "--resume" in argv:
        (bad / "captions.csv").write_text("image,caption\n")
        for i in range(3):
            Image.new("RGB", (8, 8)).save(bad / f"{i}.png")
            (bad / "captions.csv").write_text(
                (bad / "captions.csv").read_text() + f"{i}.png,caption {i}\n"
            )
    args = _parse([*argv, "--out", str(tmp_path / "out")])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cl-train multimodal: error:") and message.replace("\\", "") in err
    assert "\n" not in err


def test_emoji_prefix_error_names_the_install_command(tmp_path, capsys):
    args = _parse(["--data", "emoji", "--emoji-prefix", str(tmp_path), "--out", str(tmp_path)])
    assert args.func(args) == 2
    assert "npm install --prefix" in capsys.readouterr().err


def test_registration_and_recipes_import_no_torch():
    code = (
        "import sys, cl_multimodal.cli, cl_multimodal.bench; "
        "print(any(m == 'torch' or m.startswith('torch.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_recipes_name_real_and_synthesized_data():
    kinds = {d.name: d.kind for r in bench.RECIPES for d in r.datasets}
    assert kinds["emoji"] == "real" and kinds["shapes"] == kinds["xor"] == "synthesized"
    assert all(r.modality == "multimodal" and r.paper for r in bench.RECIPES)


@pytest.mark.parametrize("recipe", bench.RECIPES, ids=lambda r: r.method)
def test_every_recipe_runs_its_smoke_profile_with_baselines(recipe, tmp_path, require_data):
    require_data(*recipe.datasets[0].requires)
    ctx = BenchContext(recipe.datasets[0].name, "smoke", 0, None, tmp_path)
    result = recipe.load()(ctx)
    assert isinstance(result, BenchResult) and result.method == recipe.method
    assert result.data_kind == recipe.datasets[0].kind
    assert result.metrics and result.baselines
    for baseline in result.baselines.values():
        assert set(baseline) <= set(result.metrics) | {"chance", "final_loss"}
    assert result.train_time_s > 0 and result.samples_per_s > 0
    with pytest.raises(ValueError, match="profile"):
        recipe.load()(BenchContext(recipe.datasets[0].name, "huge", 0, None, tmp_path))
