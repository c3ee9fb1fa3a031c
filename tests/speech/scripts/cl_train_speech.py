"""``cl-train speech`` as a script, so Lightning's CPU DDP can start it once per process.

Usage: python cl_train_speech.py [cl-train speech options]
"""

from __future__ import annotations

import argparse
import sys

import torch

from cl_speech.cli import register


def main() -> int:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="modality"))
    args = parser.parse_args(["speech", *sys.argv[1:]])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
