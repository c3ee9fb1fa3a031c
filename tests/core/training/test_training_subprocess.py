"""End-to-end checks that need separate processes: SIGKILL + resume, and 2-process CPU DDP.

Each test starts its independent processes at the same time to share the ~20 s Lightning import.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from cl_core.training.resume import newest_step_checkpoint

SCRIPTS = Path(__file__).parent / "scripts"
TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", **(env or {})}
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


@contextmanager
def kill_on_exit(process: subprocess.Popen) -> Iterator[None]:
    """Kill and reap ``process`` if the block fails, so no pipe or child outlives the test."""
    try:
        yield
    finally:
        if process.poll() is None:
            process.kill()
        if process.stdout is not None and not process.stdout.closed:
            process.communicate()


def assert_same_weights(expected: dict, actual: dict) -> None:
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-6, msg=name)


def test_run_killed_mid_epoch_and_resumed_ends_with_the_uninterrupted_weights(
    tmp_path: Path,
) -> None:
    # 10 batches per epoch, checkpoints every 3 steps, killed after step 14 (in the middle of the
    # second epoch), 20 steps in all; the model has dropout. Checkpoints are written on a background
    # thread, so the SIGKILL may land while step 12's file is still being written: the newest
    # complete checkpoint is then step 9 (its removal is queued behind step 12's write), never a
    # partial file.
    uninterrupted = start("tiny_run.py", str(tmp_path / "a"))
    with kill_on_exit(uninterrupted):
        killed = start("tiny_run.py", str(tmp_path / "b"), "--kill-after-step", "14")
        code, output = finish(killed)
        assert code == -9, output
        assert not (tmp_path / "b" / "final_state.pt").exists()
        newest = newest_step_checkpoint(tmp_path / "b" / "checkpoints")
        assert newest is not None and newest.name in ("step=12.ckpt", "step=9.ckpt")
        torch.load(newest, weights_only=False)  # complete: it loads
        resumed_from = int(newest.name.removeprefix("step=").removesuffix(".ckpt"))
        resumed = start("tiny_run.py", str(tmp_path / "b"), "--resume", "last")
        with kill_on_exit(resumed):
            for process in (uninterrupted, resumed):
                code, output = finish(process)
                assert code == 0, output
    expected = torch.load(tmp_path / "a" / "final_state.pt")
    actual = torch.load(tmp_path / "b" / "final_state.pt")
    assert expected["global_step"] == actual["global_step"] == 20
    assert_same_weights(expected["encoder"], actual["encoder"])
    trace = (tmp_path / "b" / "trace.txt").read_text().split("\n")
    assert trace[14].startswith(f"{resumed_from + 1} "), "the resumed run should redo the steps"


def test_one_ddp_step_equals_the_single_process_step_on_the_whole_batch(tmp_path: Path) -> None:
    two = start("ddp_step.py", str(tmp_path / "two.pt"), "--devices", "2")
    one = start("ddp_step.py", str(tmp_path / "one.pt"), "--devices", "1")
    with kill_on_exit(two), kill_on_exit(one):
        for process in (two, one):
            code, output = finish(process)
            assert code == 0, output
    single = torch.load(tmp_path / "one.pt")
    ddp = torch.load(tmp_path / "two.pt")
    assert_same_weights(single["gradients"], ddp["gradients"])
    assert_same_weights(single["weights"], ddp["weights"])
    assert any(g.abs().max() > 1e-3 for g in single["gradients"].values())


def test_two_process_engine_runs_equal_one_process_on_the_global_batch(tmp_path: Path) -> None:
    # Global negatives and SyncBatchNorm by default: the 2-process run is one batch of 8. The two
    # DDP runs run side by side, so each gets its own rendezvous port.
    runs = {
        name: start(
            "ddp_engine.py",
            str(tmp_path / f"{name}.pt"),
            *flags,
            env={"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())},
        )
        for name, flags in {
            "one": ("--devices", "1"),
            "two": ("--devices", "2"),
            "two-local": ("--devices", "2", "--local-negatives"),
        }.items()
    }
    with kill_on_exit(runs["one"]), kill_on_exit(runs["two"]), kill_on_exit(runs["two-local"]):
        for process in runs.values():
            code, output = finish(process)
            assert code == 0, output
    one, two, local = (torch.load(tmp_path / f"{n}.pt") for n in ("one", "two", "two-local"))
    for model in ("contrastive", "objective"):
        assert_same_weights(one[model], two[model])
        # Control: contrasting each process's own rows only trains a different model.
        differences = [(one[model][k] - local[model][k]).abs().max().item() for k in one[model]]
        assert max(differences) > 1e-4, model
