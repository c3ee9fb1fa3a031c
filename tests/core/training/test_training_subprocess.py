"""End-to-end checks that need separate processes: SIGKILL + resume, and 2-process CPU DDP.

Each test starts its independent processes at the same time to share the ~20 s Lightning import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

SCRIPTS = Path(__file__).parent / "scripts"
TIMEOUT_S = 600


def start(script: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=TIMEOUT_S)
    return process.returncode, output


def assert_same_weights(expected: dict, actual: dict) -> None:
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-6, msg=name)


def test_run_killed_mid_epoch_and_resumed_ends_with_the_uninterrupted_weights(
    tmp_path: Path,
) -> None:
    # 10 batches per epoch, checkpoints every 3 steps, killed after step 14 (last checkpoint: 12,
    # in the middle of the second epoch), 20 steps in all; the model has dropout.
    uninterrupted = start("tiny_run.py", str(tmp_path / "a"))
    killed = start("tiny_run.py", str(tmp_path / "b"), "--kill-after-step", "14")
    code, output = finish(killed)
    assert code == -9, output
    assert not (tmp_path / "b" / "final_state.pt").exists()
    assert (tmp_path / "b" / "checkpoints" / "step=12.ckpt").is_file()
    resumed = start("tiny_run.py", str(tmp_path / "b"), "--resume", "last")
    for process in (uninterrupted, resumed):
        code, output = finish(process)
        assert code == 0, output
    expected = torch.load(tmp_path / "a" / "final_state.pt")
    actual = torch.load(tmp_path / "b" / "final_state.pt")
    assert expected["global_step"] == actual["global_step"] == 20
    assert_same_weights(expected["encoder"], actual["encoder"])
    trace = (tmp_path / "b" / "trace.txt").read_text().split("\n")
    assert trace[14].startswith("13 "), "the resumed run should redo steps 13 and 14"


def test_one_ddp_step_equals_the_single_process_step_on_the_whole_batch(tmp_path: Path) -> None:
    two = start("ddp_step.py", str(tmp_path / "two.pt"), "--devices", "2")
    one = start("ddp_step.py", str(tmp_path / "one.pt"), "--devices", "1")
    for process in (two, one):
        code, output = finish(process)
        assert code == 0, output
    single = torch.load(tmp_path / "one.pt")
    ddp = torch.load(tmp_path / "two.pt")
    assert_same_weights(single["gradients"], ddp["gradients"])
    assert_same_weights(single["weights"], ddp["weights"])
    assert any(g.abs().max() > 1e-3 for g in single["gradients"].values())
