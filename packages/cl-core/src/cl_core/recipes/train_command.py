"""``cl-train core``: SimCLR, DCL or SupCon with an MLP encoder on digits or a ``.npy`` matrix.

Registered under the ``cl_train.commands`` entry points; :func:`register` imports nothing heavy.

Example:
    ``cl-train core --method simclr --epochs 30 --out runs/simclr``
    ``cl-train core --method dcl --data features.npy --resume``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cl_core.cli import (
    UserFacingError,
    add_common_args,
    engine_options,
    prepare_out_dir,
    trainer_options,
)

METHOD_CHOICES = ("simclr", "dcl", "supcon")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``core`` sub-command to ``cl-train``."""
    parser = subparsers.add_parser(
        "core",
        help="SimCLR / DCL / SupCon with an MLP on digits or a .npy feature matrix",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--method", choices=METHOD_CHOICES, default="simclr", help="method (default: simclr)"
    )
    parser.add_argument(
        "--data",
        default="digits",
        help="'digits' (real scikit-learn digits) or a path to a 2-D .npy array (rows = samples)",
    )
    add_common_args(parser, epochs=30, batch_size=128, lr=2e-3)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Train, then write ``summary.json`` (with probe accuracies when labelled) into ``--out``."""
    from cl_core.training.engine import check_engine

    check_engine(engine_options(args))
    out_dir = prepare_out_dir(args.out)
    if args.data != "digits":
        path = Path(args.data)
        if path.suffix != ".npy" or not path.is_file():
            raise UserFacingError(
                f"--data must be 'digits' or an existing .npy file, got {args.data}"
            )
        if args.method == "supcon":
            raise UserFacingError("--method supcon needs labels; use --data digits")
    return _train(args, out_dir)


def _train(args: argparse.Namespace, out_dir: Path) -> int:
    from cl_core.evaluation import frozen_probe_scores
    from cl_core.recipes.core_methods import train_method
    from cl_core.recipes.digits_data import load_digits_split, load_npy_split
    from cl_core.training import EmbeddingDiagnostics, SpectrumAndProjectionPlot

    try:
        split = (
            load_digits_split(args.seed)
            if args.data == "digits"
            else load_npy_split(args.data, args.seed)
        )
    except ValueError as error:
        raise UserFacingError(str(error)) from None
    if args.batch_size > len(split.train_x):
        raise UserFacingError(
            f"--batch-size {args.batch_size} exceeds the {len(split.train_x)} training rows"
        )
    labelled = bool((split.train_y >= 0).all())
    plot = SpectrumAndProjectionPlot(
        split.test_x, out_dir / "spectrum_projection.png", labels=split.test_y if labelled else None
    )
    options = trainer_options(args)
    options.pop("max_epochs")
    options.pop("seed")
    try:
        run = train_method(
            args.method,
            split,
            out_dir,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            resume=args.resume,
            callbacks=(EmbeddingDiagnostics(every_n_steps=20), plot),
            progress_bar=True,
            **options,
        )
    except FileNotFoundError as error:
        raise UserFacingError(str(error)) from None
    summary: dict[str, Any] = {
        "method": args.method,
        "data": args.data,
        "epochs": args.epochs,
        "train_time_s": run.train_time_s,
        "checkpoint": str(out_dir / "checkpoints" / "last.ckpt"),
    }
    if labelled and run.module.global_rank == 0:
        summary["probes"] = frozen_probe_scores(
            run.module.encode(split.train_x),
            split.train_y,
            run.module.encode(split.test_x),
            split.test_y,
        )
    if run.module.global_rank == 0:
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary, indent=2))
    return 0
