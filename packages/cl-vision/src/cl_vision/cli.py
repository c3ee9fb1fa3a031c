"""``cl-train vision``: contrastive pre-training of an image encoder, then frozen-feature probes.

Registration imports only the standard library and :mod:`cl_core.cli`; torch is imported when the
command runs (:mod:`cl_vision.train_command`).
"""

from __future__ import annotations

import argparse

from cl_core.cli import add_common_args, positive_float, positive_int, run_with_user_errors

#: Kept in sync with :data:`cl_vision.methods.METHOD_NAMES` (checked by a test).
METHOD_CHOICES = (
    "simclr",
    "dcl",
    "dclw",
    "nnclr",
    "nnclr-dcl",
    "mv-infonce",
    "mv-dhel",
    "mv-pairwise",
    "hydra",
    "amcl",
    "cacr",
    "hard-nce",
)
ENCODER_CHOICES = ("resnet", "efficientnet-lite0")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``vision`` sub-command to ``cl-train``'s sub-parsers and return its parser."""
    parser = subparsers.add_parser(
        "vision",
        help="image CL: SimCLR, DCL/DCLW, NNCLR, MV-InfoNCE/MV-DHEL, Hydra, AMCL, CACR, hard-NCE",
        description=(
            "Pre-train an image encoder contrastively on digits, Fashion-MNIST or an ImageFolder "
            "(one sub-folder per class), then write results.json (kNN / linear-probe accuracy, "
            "effective rank, next to raw-pixel and random-init probes), embeddings.npz and "
            "checkpoints into --out."
        ),
    )
    parser.add_argument("--method", choices=METHOD_CHOICES, default="simclr", help="method")
    parser.add_argument(
        "--data",
        default="digits",
        metavar="{digits,fashion-mnist,PATH}",
        help="digits, fashion-mnist, or a folder in ImageFolder layout (default: digits)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Fashion-MNIST folder (default: /usr/share/datasets/fashion-mnist)",
    )
    parser.add_argument(
        "--train-limit",
        type=positive_int,
        default=None,
        help="use at most this many training images (class-balanced; default: all)",
    )
    parser.add_argument(
        "--image-size",
        type=positive_int,
        default=32,
        help="ImageFolder images are resized to this square size (default: 32)",
    )
    parser.add_argument(
        "--encoder", choices=ENCODER_CHOICES, default="resnet", help="backbone (default: resnet)"
    )
    parser.add_argument(
        "--views", type=positive_int, default=None, help="views per image (default: per method)"
    )
    parser.add_argument(
        "--temperature",
        type=positive_float,
        default=None,
        help="softmax temperature (default: per method)",
    )
    add_common_args(parser, epochs=20, batch_size=256, lr=2e-3)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command; a user error is printed in one line and gives exit status 2."""
    from cl_vision.train_command import train_from_args

    return run_with_user_errors("cl-train vision", lambda: train_from_args(args))
