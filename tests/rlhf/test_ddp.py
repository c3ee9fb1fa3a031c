"""2-process CPU DDP (gloo) fine-tuning ends with the weights of one process on the global batch.

Both runs start at the same time to share the import time of torch, Lightning and transformers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

SCRIPT = Path(__file__).parent / "scripts" / "ddp_finetune.py"
TIMEOUT_S = 600


def start(out: Path, devices: int, auxiliary: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, str(SCRIPT), str(out), "--devices", str(devices)]
    return subprocess.Popen(
        [*command, "--auxiliary", auxiliary],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("auxiliary", ["simcse", pytest.param("swav", marks=pytest.mark.slow)])
def test_two_process_finetuning_matches_one_process_on_the_global_batch(auxiliary, tmp_path):
    runs = {
        devices: start(tmp_path / f"devices-{devices}", devices, auxiliary) for devices in (1, 2)
    }
    try:
        for process in runs.values():
            output, _ = process.communicate(timeout=TIMEOUT_S)
            assert process.returncode == 0, output
    finally:
        for process in runs.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    one = torch.load(tmp_path / "devices-1" / "weights.pt")
    two = torch.load(tmp_path / "devices-2" / "weights.pt")
    assert one.keys() == two.keys()
    initial = load_file(tmp_path / "devices-1" / "encoder" / "model.safetensors")
    trained_block = [name for name in one if ".layer.1." in name]
    assert any(
        not torch.allclose(one[name], initial[name.removeprefix("encoder.")], atol=1e-4)
        for name in trained_block
    ), "the trainable block did not move"
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=0, atol=1e-5, msg=name)
