"""``cl_vision.training.train`` with deterministic views, on 1 process or as 2-process CPU DDP.

Usage: python vision_ddp_run.py OUT_FILE --devices {1,2} --batch-size B [--local-negatives]

The views come from a :class:`~cl_vision.views.ViewAugmentation` with every random transform at
zero strength (full-image crop, no flip, rotation, colour change, noise or erasing), so a run does
not depend on the per-(seed, step, rank) view generators. Lightning re-launches this script for
rank 1 with the same arguments. Rank 0 saves the final weights and whether the encoder's
BatchNorm layers ran as
:class:`~cl_core.training.cpu_sync_batchnorm.CpuSyncBatchNorm` (global batch statistics).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from cl_core.training.cpu_sync_batchnorm import CpuSyncBatchNorm
from cl_vision.data import ImageSplit
from cl_vision.training import TrainConfig, train
from cl_vision.views import ViewAugmentation

STILL_VIEWS = ViewAugmentation(
    crop_scale=(1.0, 1.0),
    crop_ratio=(1.0, 1.0),
    flip_probability=0.0,
    max_rotation_degrees=0.0,
    brightness=0.0,
    contrast=0.0,
    noise_std=0.0,
    erase_probability=0.0,
)


def tiny_split() -> ImageSplit:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(40, 1, 8, 8, generator=generator)
    labels = torch.arange(40) % 4
    return ImageSplit(
        "random", images[:32], labels[:32], images[32:], labels[32:], ("a", "b", "c", "d"), "noise"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--local-negatives", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = TrainConfig(method="simclr", epochs=2, batch_size=args.batch_size, lr=0.01)
    run = train(
        config,
        tiny_split(),
        args.out.parent / f"run-{args.out.stem}",
        STILL_VIEWS,
        accelerator="cpu",
        devices=args.devices,
        strategy="ddp" if args.devices > 1 else "auto",
        local_negatives=args.local_negatives,
        progress_bar=False,
    )
    if run.module.global_rank == 0:
        sync = any(isinstance(m, CpuSyncBatchNorm) for m in run.module.modules())
        state = {k: v for k, v in run.module.state_dict().items() if v.is_floating_point()}
        steps = run.samples_seen // args.batch_size
        torch.save({"weights": state, "sync_batchnorm": sync, "steps": steps}, args.out)


if __name__ == "__main__":
    main()
