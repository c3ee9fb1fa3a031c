"""``cl-train regression`` as a script, so Lightning's CPU DDP can start it once per process.

Usage: python cl_train_regression.py [cl-train regression options]
"""

from __future__ import annotations

import argparse
import sys

import torch

from cl_regression.cli import register


def main() -> int:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["regression", *sys.argv[1:]])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
