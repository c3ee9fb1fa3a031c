"""cl-train: modalities from entry points, shared options, one-line errors, a real core run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cl_core.cli import add_common_args, trainer_options
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID
from cl_train import main as train_main

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
)

HEAVY = (
    "torch",
    "lightning",
    "transformers",
    "sentence_transformers",
    "torch_geometric",
    "torchaudio",
)


def test_help_lists_core_and_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom cl_train.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{HEAVY!r})\nprint('HEAVY:' + ','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert "core" in result.stdout
    assert result.stdout.strip().endswith("HEAVY:"), result.stdout[-300:]


def test_no_modality_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main.main([]) == 2
    assert "cl-train: error: choose a modality" in capsys.readouterr().err


def test_common_args_map_to_trainer_options() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_common_args(parser)
    args = parser.parse_args(
        ["--devices", "2", "--num-nodes", "3", "--strategy", "ddp", "--epochs", "4", "--seed", "5"]
    )
    options = trainer_options(args)
    assert options["devices"] == 2 and options["num_nodes"] == 3 and options["strategy"] == "ddp"
    assert options["max_epochs"] == 4 and options["seed"] == 5 and args.resume is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--devices", "0"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "missing.npy"], "--data must be 'digits' or an existing .npy file"),
        (["--resume", "no-such.ckpt", "--epochs", "1"], "no-such.ckpt does not exist"),
    ],
)
def test_core_errors_are_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train_main.main(["core", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_core_rejects_a_non_matrix_npy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "vector.npy", np.arange(20.0))
    argv = ["core", "--data", str(tmp_path / "vector.npy"), "--out", str(tmp_path / "run")]
    assert train_main.main(argv) == 2
    assert "numeric 2-D array" in capsys.readouterr().err


def test_core_trains_on_digits_and_writes_summary_plot_and_checkpoint(tmp_path: Path) -> None:
    argv = [
        "core",
        "--method",
        "supcon",
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--out",
        str(tmp_path),
    ]
    assert train_main.main(argv) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["method"] == "supcon"
    assert 0.0 <= summary["probes"]["knn_acc"] <= 1.0
    assert summary["probes"]["linear_c"] in DEFAULT_C_GRID
    assert (tmp_path / "spectrum_projection.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
