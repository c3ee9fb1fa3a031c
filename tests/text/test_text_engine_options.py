"""``cl-train text`` with the engine options: bf16 mixed precision on the CPU (a tiny BERT), and
one-line refusals of an accelerator, a precision or a gather this run cannot have."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from cl_train.main import main

SCRIPT = Path(__file__).parent / "scripts" / "text_ddp_run.py"

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT with the MiniLM tokenizer (the DDP test's model)."""
    spec = importlib.util.spec_from_file_location("text_ddp_run", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    folder = tmp_path_factory.mktemp("tiny-bert")
    script.build_tiny_bert(folder)
    return folder


@pytest.fixture
def sentences(tmp_path: Path) -> Path:
    path = tmp_path / "sentences.txt"
    path.write_text("".join(f"sentence number {i} is here\n" for i in range(32)), encoding="utf-8")
    return path


def test_bf16_mixed_precision_trains_simcse_end_to_end_on_the_cpu(
    tiny_bert: Path, sentences: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = ["text", "--train", str(sentences), "--base-model", str(tiny_bert), "--epochs", "1"]
    argv += ["--batch-size", "16", "--lr", "1e-3", "--accelerator", "cpu"]
    assert main([*argv, "--precision", "bf16-mixed", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["steps"] == 2
    assert (out / "model" / "modules.json").is_file()
    state = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a GPU")
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--accelerator", "gpu"), "--accelerator gpu: no CUDA GPU is visible"),
        (("--precision", "16-mixed", "--accelerator", "cpu"), "--precision 16-mixed needs a CUDA"),
        (
            ("--method", "whitenedcse", "--devices", "2", "--strategy", "ddp"),
            "whitenedcse whitens and contrasts each process's own batch",
        ),
    ],
)
def test_options_this_run_cannot_honour_are_one_line_errors(
    sentences: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: tuple[str, ...],
    message: str,
) -> None:
    out = tmp_path / "run"
    assert main(["text", "--train", str(sentences), *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cl-train text: error: ") and message in err
    assert err.count("\n") == 1
    assert not out.exists()
