"""``cl-train core`` with the engine options: bf16 mixed precision on the CPU, and one-line
refusals of an accelerator or a precision this machine does not have."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cl_train.main import main

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
)


def tiny_npy(tmp_path: Path) -> str:
    path = tmp_path / "features.npy"
    np.save(path, np.random.default_rng(0).normal(size=(40, 12)).astype(np.float32))
    return str(path)


def test_bf16_mixed_precision_trains_end_to_end_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["core", "--data", tiny_npy(tmp_path), "--epochs", "1", "--batch-size", "16"]
    code = main([*argv, "--accelerator", "cpu", "--precision", "bf16-mixed", "--out", str(out)])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 1
    state = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert state["global_step"] == 2
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a GPU")
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--accelerator", "gpu"), "--accelerator gpu: no CUDA GPU is visible"),
        (("--precision", "16-mixed", "--accelerator", "cpu"), "--precision 16-mixed needs a CUDA"),
    ],
)
def test_missing_accelerator_or_gpu_precision_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "run"
    assert main(["core", "--data", tiny_npy(tmp_path), *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cl-train: error: ") and message in err
    assert err.count("\n") == 1
    assert not out.exists()
