"""``cl-train core`` with deterministic views, on 1 process or as 2-process CPU DDP (gloo).

Usage: python core_ddp_run.py DATA.npy OUT_DIR --devices {1,2} --batch-size B [--local-negatives]

The views come from the real ``augment_features`` at zero strength (no masking, noise or shift),
so a run does not depend on the per-(seed, step, rank) view generators: the 2-process run at
batch B/2 per process then sees the same global batches as the 1-process run at batch B. Lightning
re-launches this script for rank 1 with the same arguments, so the patch applies on every rank.
"""

from __future__ import annotations

import argparse
import functools
import sys

import torch

from cl_core.recipes import core_methods
from cl_core.recipes.digits_data import augment_features
from cl_train.main import main as cl_train


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--method", default="simclr")
    parser.add_argument("--local-negatives", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    core_methods.augment_features = functools.partial(
        augment_features, mask_prob=0.0, noise_std=0.0, max_shift=0
    )
    argv = [
        "core",
        "--method",
        args.method,
        "--data",
        args.data,
        "--epochs",
        "2",
        "--batch-size",
        str(args.batch_size),
        "--lr",
        "0.01",
        "--accelerator",
        "cpu",
        "--devices",
        str(args.devices),
        "--strategy",
        "ddp" if args.devices > 1 else "auto",
        "--out",
        args.out,
    ]
    if args.local_negatives:
        argv.append("--local-negatives")
    return cl_train(argv)


if __name__ == "__main__":
    sys.exit(main())
