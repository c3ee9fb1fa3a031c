"""``cl-train rlhf``: train a reward model on any chosen/rejected JSON Lines file.

Registration imports only the standard library and :mod:`cl_core.cli`; the training code (torch,
transformers) is imported when the command runs. The engine options are the shared ones
(:func:`cl_core.cli.add_common_args`). ``--backbone finetune`` honours all of them (several
devices, checkpoints, ``--resume``); ``--backbone frozen`` fits many small heads on cached
features in seconds, on one process, and refuses ``--devices``, ``--num-nodes``, ``--strategy``,
``--resume`` and ``--checkpoint-every``.

Example:
    cl-train rlhf --method flip --pairs pairs.jsonl --out runs/rm-flip
    cl-train rlhf --backbone finetune --finetune-layers 2 --pairs pairs.jsonl --out runs/rm-ft
    cl-train rlhf --backbone finetune --pairs pairs.jsonl --out runs/rm-ft --resume
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cl_core.cli import add_common_args, positive_float, positive_int, run_with_user_errors

PROG = "cl-train rlhf"
METHOD_CHOICES = ("bt", "flip", "smooth", "margin", "contrastive", "swav")
VIEW_CHOICES = ("response", "dialogue")
BACKBONE_CHOICES = ("frozen", "finetune")
DEFAULT_EPOCHS = {"frozen": 10, "finetune": 2}


def _layers(text: str) -> int | None:
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        message = f"expected 'all' or an integer >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'all' or an integer >= 1, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``rlhf`` sub-command to ``cl-train``'s sub-parsers and return its parser."""
    parser = subparsers.add_parser(
        "rlhf",
        help="reward model on preference pairs (Bradley-Terry, strength-aware, contrastive)",
        description=(
            "Train a reward head on frozen encoder features of chosen/rejected dialogues, or "
            "fine-tune the encoder with it (Secrets of RLHF Part II, arXiv:2401.06080). Writes "
            "metrics.json, a feature cache and reward_head.pt (frozen) or model/ (finetune) "
            "to --out."
        ),
    )
    parser.add_argument(
        "--method", choices=METHOD_CHOICES, default="bt", help="recipe (default: bt)"
    )
    parser.add_argument(
        "--pairs",
        type=Path,
        required=True,
        metavar="FILE.jsonl",
        help='JSON Lines (.jsonl or .jsonl.gz), one {"chosen": ..., "rejected": ...} per line',
    )
    parser.add_argument(
        "--encoder",
        type=Path,
        default=None,
        help="local Hugging Face encoder folder (default: the packaged all-MiniLM-L6-v2)",
    )
    parser.add_argument(
        "--backbone",
        choices=BACKBONE_CHOICES,
        default="frozen",
        help="frozen: head on cached encoder features (default); finetune: train the encoder's "
        "last --finetune-layers blocks jointly with the head (writes model/)",
    )
    parser.add_argument(
        "--finetune-layers",
        type=_layers,
        default=2,
        metavar="N|all",
        help="--backbone finetune: trainable transformer blocks, counted from the top (default: 2)",
    )
    parser.add_argument(
        "--encoder-lr",
        type=positive_float,
        default=2e-5,
        help="--backbone finetune: encoder learning rate (default: 2e-05; --lr is the head's)",
    )
    parser.add_argument(
        "--view",
        choices=VIEW_CHOICES,
        default="response",
        help="encode the final assistant response (default) or the whole dialogue",
    )
    parser.add_argument(
        "--max-length",
        type=positive_int,
        default=None,
        help="tokens kept per text (default: 96 for responses, 128 for dialogues)",
    )
    parser.add_argument(
        "--max-pairs", type=positive_int, default=None, help="read only the first N pairs"
    )
    parser.add_argument("--val-fraction", type=_fraction, default=0.1, help="default: 0.1")
    parser.add_argument("--test-fraction", type=_fraction, default=0.2, help="default: 0.2")
    parser.add_argument(
        "--flip-fraction",
        type=_fraction,
        default=0.0,
        help="inject label flips into this share of the training pairs (default: 0)",
    )
    add_common_args(parser, epochs=None, batch_size=64, lr=1e-3)
    # --epochs is the package's own: its default depends on --backbone.
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help=f"default: {DEFAULT_EPOCHS['frozen']} (frozen), {DEFAULT_EPOCHS['finetune']} "
        "(finetune)",
    )
    parser.add_argument(
        "--ensemble-size",
        type=positive_int,
        default=10,
        help="reward heads measuring preference strength (flip/smooth/margin; default: 10)",
    )
    parser.add_argument(
        "--strength-epochs",
        type=positive_int,
        default=1,
        help="epochs of every strength-ensemble head (default: 1; fewer epochs memorise fewer "
        "wrong labels)",
    )
    parser.add_argument(
        "--strength-folds",
        type=positive_int,
        default=2,
        help="out-of-fold strength: folds per ensemble member; 1 = in sample (default: 2)",
    )
    parser.add_argument(
        "--weakest-fraction",
        type=_fraction,
        default=None,
        help="flip/smooth the weakest share of pairs by strength (paper: 0.2; default: mu < 0)",
    )
    parser.add_argument(
        "--contrastive-weight",
        type=positive_float,
        default=0.1,
        help="beta of the SimCSE / SwAV auxiliary (contrastive, swav; default: 0.1)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; a bad input prints one line and returns exit status 2."""
    from cl_rlhf.train_command import train_from_args

    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS[args.backbone]
    return run_with_user_errors(PROG, lambda: train_from_args(args))
