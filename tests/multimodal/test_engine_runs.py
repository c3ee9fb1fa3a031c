"""The CLIP recipe on the kernel's engine: 2-process DDP equals one process, bf16 on the CPU.

The DDP equivalence test starts both runs at the same time to share the Lightning import.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cl_multimodal.cli import register

CL_TRAIN = Path(sys.executable).with_name("cl-train")
SCRIPTS = Path(__file__).parent / "scripts"
TIMEOUT_S = 600
COLORS = ("red", "blue", "green", "yellow", "purple")
SHAPES = ("dot", "bar", "ring", "star")


def _caption_folder(folder: Path) -> Path:
    """20 pairs of noise images and distinct captions: 16 train / 4 test at test fraction 0.2.

    Noise images keep BatchNorm's statistics well conditioned (flat colours give a small
    variance under a large mean), so float rounding stays far below the tolerance.
    """
    folder.mkdir()
    rows = ["image,caption"]
    pixels = np.random.default_rng(0).integers(0, 256, size=(20, 24, 24, 3), dtype=np.uint8)
    for i, (color, shape) in enumerate((c, s) for c in COLORS for s in SHAPES):
        Image.fromarray(pixels[i]).save(folder / f"{i}.png")
        rows.append(f"{i}.png,a {color} {shape}")
    (folder / "captions.csv").write_text("\n".join(rows) + "\n")
    return folder


def _start(data: Path, out: Path, *flags: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [str(CL_TRAIN), "multimodal", "--data", str(data), "--out", str(out)]
    command += ["--accelerator", "cpu", "--epochs", "2", "--lr", "0.01", *flags]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


# Not yet seen passing (see the engine issue's note): kept out of the default run until it is.
@pytest.mark.distributed_heavy
def test_two_process_ddp_recipe_run_ends_with_the_weights_of_one_process_on_the_global_batch(
    tmp_path,
):
    # 20 pairs: 2 processes at batch 4 (global batch 8, the CLIP loss gathering the other
    # process's embeddings) against 1 process at batch 8: 2 steps per epoch, 2 epochs, AdamW.
    data = _caption_folder(tmp_path / "pairs")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    script = [sys.executable, str(SCRIPTS / "ddp_clip.py"), str(data)]
    runs = [
        subprocess.Popen(
            [*script, str(tmp_path / f"{n}.pt"), "--devices", str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for n in (2, 1)
    ]
    try:
        for process in runs:
            output, _ = process.communicate(timeout=TIMEOUT_S)
            assert process.returncode == 0, output
    finally:
        for process in runs:
            if process.poll() is None:
                process.kill()
                process.communicate()
    one, two = (torch.load(tmp_path / f"{n}.pt") for n in (1, 2))
    assert one.keys() == two.keys()
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=0, atol=1e-5, msg=name)


# Not yet seen passing (see the engine issue's note): kept out of the default run until it is.
@pytest.mark.distributed_heavy
def test_cl_train_runs_two_processes_with_batchnorm_on_the_cpu(tmp_path):
    # The default CNN tower has BatchNorm: on the CPU it trains with CpuSyncBatchNorm (torch's
    # SyncBatchNorm is GPU-only); rank 0 alone writes the outputs.
    data = _caption_folder(tmp_path / "pairs")
    flags = ["--devices", "2", "--strategy", "ddp", "--batch-size", "4", "--epochs", "1"]
    process = _start(data, tmp_path / "two", *flags)
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["engine"]["devices"] == 2 and not config["engine"]["local_negatives"]
    assert (tmp_path / "two" / "metrics.json").is_file()
    assert (tmp_path / "two" / "checkpoints" / "last.ckpt").is_file()


def test_bf16_mixed_precision_trains_end_to_end_on_the_cpu(tmp_path):
    data = _caption_folder(tmp_path / "pairs")
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "run"
    flags = ["--accelerator", "cpu", "--precision", "bf16-mixed", "--epochs", "1"]
    args = parser.parse_args(
        ["multimodal", "--data", str(data), "--out", str(out), *flags, "--batch-size", "8"]
    )
    assert args.func(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["i2t_R@1"] <= 1.0
    assert json.loads((out / "config.json").read_text())["engine"]["precision"] == "bf16-mixed"
    weights = torch.load(out / "model.pt", weights_only=True)
    assert all(value.dtype != torch.bfloat16 for value in weights.values())
