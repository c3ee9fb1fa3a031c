"""``cl-train text`` (SimCSE) under 2-process CPU DDP (gloo) trains the model of one process on
the global batch: the in-batch InfoNCE gathers the negatives of every process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).parent / "scripts" / "text_ddp_run.py"
TIMEOUT_S = 900
#: float32, 4 AdamW steps; the runs differ only in the order of reductions and in padding.
ATOL = 1e-5
WORDS = ("red", "cat", "runs", "blue", "dog", "sleeps", "green", "bird", "sings", "old", "man")


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def run_all(runs: dict[str, subprocess.Popen]) -> None:
    try:
        for name, process in runs.items():
            output, _ = process.communicate(timeout=TIMEOUT_S)
            assert process.returncode == 0, f"{name}:\n{output[-3000:]}"
    finally:
        for process in runs.values():
            if process.poll() is None:
                process.kill()
                process.communicate()


def final_weights(out: Path) -> dict[str, torch.Tensor]:
    state = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert state["global_step"] == 4
    return {k: v for k, v in state["state_dict"].items() if v.is_floating_point()}


# Out of the default run until the 1e-5 equality holds: not yet completed on the shared 2-core
# machine (timed out at 900 s under load 25).
@pytest.mark.distributed_heavy
def test_two_process_cl_train_text_ends_with_the_one_process_weights(tmp_path: Path) -> None:
    # 32 sentences of 2-6 words; global batch 16 -> 2 steps per epoch, 2 epochs.
    lines = [
        " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(2 + i % 5)) + f" {i}"
        for i in range(32)
    ]
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    runs = {
        "one": start(str(sentences), str(tmp_path / "one"), "--devices", "1", "--batch-size", "16"),
        "two": start(str(sentences), str(tmp_path / "two"), "--devices", "2", "--batch-size", "8"),
        "local": start(
            str(sentences),
            str(tmp_path / "local"),
            *("--devices", "2", "--batch-size", "8", "--local-negatives"),
        ),
    }
    run_all(runs)
    print(f"3 runs in {time.perf_counter() - started:.1f} s")
    one, two, local = (final_weights(tmp_path / name) for name in ("one", "two", "local"))
    assert one.keys() == two.keys() == local.keys()
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=0, atol=ATOL, msg=name)
    # Control: without the gather each process contrasts its own 8 sentences - another model.
    assert max((one[k] - local[k]).abs().max().item() for k in one) > 1e-4
    assert (tmp_path / "two" / "results.json").is_file()
    assert (tmp_path / "two" / "model" / "modules.json").is_file()
