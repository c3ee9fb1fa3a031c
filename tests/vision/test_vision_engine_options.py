"""``cl-train vision`` with the engine options: bf16 mixed precision on the CPU, one-line refusals
of an accelerator, a precision or a gather this run cannot have, and which losses gather."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cl_core.training.module import _accepts_keyword as accepts_keyword
from cl_train.main import main
from cl_vision.methods import METHODS, LossSetup
from cl_vision.train_recipes import GATHERING_METHODS

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
)


def test_exactly_the_gathering_methods_get_gather_from_the_engine() -> None:
    # ContrastiveModule passes gather= to a loss it sees taking it; the others must be refused.
    for name, spec in METHODS.items():
        loss = spec.make_loss(LossSetup(64, 4, 128, 8))
        assert accepts_keyword(loss, "gather") == (name in GATHERING_METHODS), name


def test_bf16_mixed_precision_trains_simclr_end_to_end_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["vision", "--data", "digits", "--train-limit", "64", "--epochs", "1"]
    argv += ["--batch-size", "32", "--accelerator", "cpu", "--precision", "bf16-mixed"]
    assert main([*argv, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["metrics"]["linear_acc"] > 0
    assert (out / "embeddings.npz").is_file()
    state = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert state["global_step"] == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a GPU")
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--accelerator", "gpu"), "--accelerator gpu: no CUDA GPU is visible"),
        (("--precision", "16-mixed", "--accelerator", "cpu"), "--precision 16-mixed needs a CUDA"),
        (
            ("--method", "mv-infonce", "--devices", "2", "--strategy", "ddp"),
            "--method mv-infonce contrasts each process's own batch",
        ),
        (
            ("--method", "mcl", "--stage-method", "hydra", "--devices", "2"),
            "--method hydra contrasts each process's own batch",
        ),
    ],
)
def test_options_this_run_cannot_honour_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "run"
    assert main(["vision", *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cl-train vision: error: ") and message in err
    assert err.count("\n") == 1
    assert not out.exists()
