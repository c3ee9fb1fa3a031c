"""``cl-train regression`` on the kernel's engine: 2-process DDP, bf16, refused options."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cl_regression.cli import register
from cl_regression.data import load_diabetes_table

SCRIPT = Path(__file__).parent / "scripts" / "cl_train_regression.py"
TIMEOUT_S = 600


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["regression", *argv])


@pytest.fixture
def diabetes_csv(tmp_path: Path) -> Path:
    path = tmp_path / "diabetes.csv"
    load_diabetes_table().frame.iloc[:60].to_csv(path, index=False)
    return path


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_two_process_ddp_run_ends_with_the_single_process_weights(tmp_path, diabetes_csv):
    # SupCon pre-training (local anchors against the views gathered from both processes) then
    # L1 fine-tuning: 48 training rows, 2 x 8 = 16 rows per step, 3 + 3 + 3 steps. Each process
    # encodes its 8 rows of every global batch; the noise of the views is drawn for the whole
    # batch on both.
    common = ["--method", "supcon", "--csv", str(diabetes_csv), "--target", "target"]
    common += ["--epochs", "2", "--num-bins", "4", "--accelerator", "cpu"]
    common += ["--protocol", "finetune", "--finetune-epochs", "1"]
    ddp = ["--devices", "2", "--strategy", "ddp"]
    two = _start(*common, "--out", str(tmp_path / "two"), "--batch-size", "8", *ddp)
    one = _start(*common, "--out", str(tmp_path / "one"), "--batch-size", "16")
    try:
        for process in (two, one):
            output, _ = process.communicate(timeout=TIMEOUT_S)
            assert process.returncode == 0, output
    finally:
        for process in (two, one):
            if process.poll() is None:
                process.kill()
                process.communicate()
    single = torch.load(tmp_path / "one" / "model.pt", weights_only=True)
    ddp = torch.load(tmp_path / "two" / "model.pt", weights_only=True)
    _assert_same_weights_up_to_adam_rounding(single, ddp)


def _assert_same_weights_up_to_adam_rounding(expected: dict, actual: dict) -> None:
    """At least 99.5% of the weights agree within atol 1e-6 and all within 2e-3.

    Adam divides each gradient by its running RMS: where a gradient is at rounding level (a ReLU
    unit active on one or two rows), the rounding difference between the two runs' sums moves
    that weight by up to the learning rate (1e-3) per step, and the exact linear L1 fit between
    the phases passes that on to the head. Contrasting each process's rows only, or any other
    departure from the single-process batch, moves most weights by far more than 1e-6.
    """
    differences = []
    for part in ("encoder", "head"):
        assert expected[part].keys() == actual[part].keys()
        for name, value in expected[part].items():
            difference = (actual[part][name] - value).abs().flatten()
            assert float(difference.max()) <= 2e-3, f"{part}.{name}"
            differences.append(difference)
    assert float((torch.cat(differences) > 1e-6).float().mean()) <= 0.005


def test_bf16_mixed_precision_runs_end_to_end_on_cpu(tmp_path, diabetes_csv, capsys):
    out = tmp_path / "run"
    argv = ["--method", "supcon", "--csv", str(diabetes_csv), "--target", "target"]
    argv += ["--out", str(out), "--epochs", "1", "--batch-size", "16", "--num-bins", "4"]
    argv += ["--accelerator", "cpu", "--precision", "bf16-mixed"]
    args = _parse(argv)
    assert args.func(args) == 0
    saved = torch.load(out / "model.pt", weights_only=True)
    assert all(torch.isfinite(value).all() for value in saved["encoder"].values())
    assert np.isfinite(float(capsys.readouterr().out.split("test MAE ")[1].split()[0]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--method", "supremix", "--devices", "2"], "--devices 2 is not supported here"),
        (["--method", "rnc", "--num-nodes", "2"], "--num-nodes 2 is not supported here"),
        (["--method", "l1", "--resume"], "--resume last is not supported here"),
        (["--method", "l1", "--checkpoint-every", "5"], "--checkpoint-every 5 is not supported"),
        (["--method", "l1", "--accelerator", "gpu"], "--accelerator gpu: no CUDA GPU"),
        (["--method", "l1", "--precision", "16-mixed", "--accelerator", "cpu"], "needs a CUDA"),
    ],
)
def test_options_the_method_cannot_honour_are_one_line_errors(
    tmp_path, diabetes_csv, capsys, options, message
):
    if "gpu" in options and torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible")
    argv = ["--csv", str(diabetes_csv), "--target", "target", "--out", str(tmp_path / "o")]
    args = _parse([*argv, *options])
    assert args.func(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error
    assert error.startswith("cl-train regression: error:")
