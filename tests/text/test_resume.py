"""``cl-train text --resume``: run 2 picks up run 1's checkpoint and continues from its step."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from cl_text.cli import register

pytestmark = [
    # cl_core.training.make_trainer's CSVLogger warns when a resumed run reuses OUT/logs (and
    # drops the earlier metrics.csv); reported to the cl-core owner, not a cl-text behaviour.
    pytest.mark.filterwarnings("ignore:Experiment logs directory .* exists and is not empty"),
    # Lightning's ModelCheckpoint says so whenever a run (resumed or not) finds checkpoints.
    pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty"),
    pytest.mark.filterwarnings(
        "ignore:The 'train_dataloader' does not have many workers:UserWarning"
    ),
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
]


def run(*argv: str) -> dict:
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["text", *argv])
    assert args.func(args) == 0
    return json.loads((args.out / "results.json").read_text(encoding="utf-8"))


def checkpoint(out: Path) -> dict:
    return torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)


def test_resume_continues_from_the_checkpoint_step_into_the_next_epoch(
    tmp_path: Path, sts_dir: Path, minilm_path: Path
) -> None:
    out = tmp_path / "run"
    # 32 triplets in batches of 8: 4 steps per epoch, 2 epochs = 8 steps in all. The step
    # checkpoint (--checkpoint-every) is what a run killed mid-epoch leaves behind.
    common = (
        "--method", "simcse-sup",
        "--train", str(sts_dir / "sick2014" / "SICK_train.txt"),
        "--base-model", str(minilm_path),
        "--out", str(out),
        "--batch-size", "8", "--max-sentences", "32", "--epochs", "2",
        "--accelerator", "cpu", "--devices", "1", "--checkpoint-every", "3",
    )  # fmt: skip
    first = run(*common, "--max-steps", "3")
    state1 = checkpoint(out)
    assert first["steps"] == 3 and state1["global_step"] == 3 and state1["epoch"] == 0

    second = run(*common, "--max-steps", "6", "--resume")
    state2 = checkpoint(out)
    # only the 3 missing steps ran in this process: 1 to finish epoch 0, 2 into epoch 1
    assert second["steps"] == 3
    assert state2["global_step"] == 6 and state2["epoch"] == 1
    weights1, weights2 = state1["state_dict"], state2["state_dict"]
    assert weights1.keys() == weights2.keys()
    assert any(not torch.equal(weights1[k], weights2[k]) for k in weights1)
