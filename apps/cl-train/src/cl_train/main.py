"""``cl-train MODALITY ...``: train an encoder with a contrastive method.

Each installed modality package adds one sub-command through the ``cl_train.commands`` entry-point
group (``register(subparsers)``); registering imports nothing heavy, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys

from cl_core.cli import UserFacingError, run_with_user_errors
from cl_core.registry import discover_train_commands

PROG = "cl-train"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-command per installed modality."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Train an encoder with a contrastive method. Multi-GPU / multi-node: add "
            "--accelerator gpu --devices N --num-nodes M --strategy ddp (under torchrun or SLURM)."
        ),
    )
    subparsers = parser.add_subparsers(dest="modality", metavar="MODALITY", title="modalities")
    for name, entry_point in discover_train_commands().items():
        try:
            register = entry_point.load()
            register(subparsers)
        except Exception as error:
            print(
                f"{PROG}: warning: modality {name!r} is unavailable "
                f"({type(error).__name__}: {error})",
                file=sys.stderr,
            )
    return parser


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        raise UserFacingError("choose a modality")
    return int(func(args))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    return run_with_user_errors(PROG, lambda: run(arguments))


if __name__ == "__main__":
    sys.exit(main())
