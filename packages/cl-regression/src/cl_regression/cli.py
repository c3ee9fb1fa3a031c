"""``cl-train regression``: train a contrastive (or plain) regressor on any CSV table.

Registration imports only the standard library and :mod:`cl_core.cli`; torch is imported when the
command runs. The engine options (``--accelerator``, ``--devices``, ``--precision``, ``--out``,
``--seed``...) are the shared ones of :func:`cl_core.cli.add_common_args`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cl_core.cli import add_common_args, positive_float, positive_int, run_with_user_errors

METHOD_CHOICES = ("supremix", "supcon", "rnc", "l1", "l2")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``regression`` sub-command to ``cl-train``'s sub-parsers and return its parser."""
    parser = subparsers.add_parser(
        "regression",
        help="contrastive regression (SupReMix, SupCon, Rank-N-Contrast) or L1/L2 on a CSV table",
        description=(
            "Pre-train an MLP encoder on a CSV table with a contrastive regression loss, fit a "
            "linear L1 regressor on the frozen features (or fine-tune with L1) and report "
            "held-out MAE (or train the plain L1/L2 baseline end to end)."
        ),
    )
    parser.add_argument("--method", choices=METHOD_CHOICES, default="supremix", help="method")
    parser.add_argument("--csv", type=Path, required=True, metavar="FILE", help="CSV with header")
    parser.add_argument("--target", required=True, metavar="COLUMN", help="numeric target column")
    add_common_args(parser, epochs=60, batch_size=None, lr=1e-3)
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="batch size per process (default: the method's; SupReMix 256, SupCon 64, others 128)",
    )
    parser.add_argument(
        "--num-bins", type=positive_int, default=30, help="label bins for positives (default: 30)"
    )
    parser.add_argument(
        "--binning",
        choices=("quantile", "uniform"),
        default="quantile",
        help="equal-count or equal-width label bins (default: quantile)",
    )
    parser.add_argument(
        "--protocol",
        choices=("linear", "finetune"),
        default="linear",
        help=(
            "after contrastive pre-training: exact linear L1 regressor on frozen features, or "
            "L1 fine-tuning of encoder and regressor (default: linear)"
        ),
    )
    parser.add_argument(
        "--finetune-epochs",
        type=positive_int,
        default=20,
        help="fine-tuning epochs with --protocol finetune (default: 20)",
    )
    parser.add_argument(
        "--test-fraction",
        type=positive_float,
        default=0.2,
        help="share of rows held out for the reported MAE (default: 0.2)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command; a user error is printed in one line and gives exit status 2."""

    def train() -> int:
        from cl_regression.train_command import train_from_args

        return train_from_args(args)

    return run_with_user_errors("cl-train regression", train)
