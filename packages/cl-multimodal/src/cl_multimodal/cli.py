"""``cl-train multimodal``: CLIP two-tower training on emoji or a folder of image-caption pairs.

Registration imports only the standard library and :mod:`cl_core.cli`; torch is imported when the
command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cl_core.cli import add_common_args, positive_float, run_with_user_errors
from cl_multimodal.towers.factory import IMAGE_TOWERS, TEXT_TOWERS


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``multimodal`` sub-command to ``cl-train``'s sub-parsers and return its parser."""
    parser = subparsers.add_parser(
        "multimodal",
        help="CLIP two-tower training on emoji or a folder of image + caption pairs",
        description=(
            "Train a CLIP image/text two-tower model (learnable logit scale; optional improved-"
            "baselines recipe: image and text augmentation, label smoothing) and report "
            "image<->text Recall@1/5/10 on a held-out split (plus zero-shot category accuracy on "
            "emoji). --data emoji reads the npm package emoji-datasource-google; --data PATH reads "
            "a folder of NAME.png + NAME.txt pairs, or images plus a captions.csv with header "
            "'image,caption' (optional third column 'label')."
        ),
    )
    parser.add_argument(
        "--data", required=True, metavar="emoji|PATH", help="'emoji' or an image-caption folder"
    )
    parser.add_argument(
        "--emoji-prefix",
        type=Path,
        default=None,
        metavar="DIR",
        help="npm prefix holding node_modules/emoji-datasource-google (default: $CL_NPM_PREFIX "
        "or ~/.cache/contrastive/npm)",
    )
    parser.add_argument("--text-tower", choices=TEXT_TOWERS, default="bow", help="text encoder")
    parser.add_argument("--image-tower", choices=IMAGE_TOWERS, default="cnn", help="image encoder")
    parser.add_argument(
        "--improved",
        action="store_true",
        help="improved-baselines recipe: image + text augmentation and label smoothing 0.1",
    )
    parser.add_argument(
        "--ssl-addon",
        choices=("none", "cl2l", "siamlip"),
        default="none",
        help=(
            "improved-baselines add-on: cl2l (local CLIP terms between augmented views through "
            "separate projectors) or siamlip (cl2l + stop-gradient cross-modal SimSiam) "
            "(default: none)"
        ),
    )
    parser.add_argument(
        "--test-fraction",
        type=positive_float,
        default=0.2,
        help="share of pairs held out for evaluation (default: 0.2)",
    )
    add_common_args(parser, epochs=10, batch_size=128, lr=2e-3)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command; a user error is printed in one line and gives exit status 2."""

    def train() -> int:
        from cl_multimodal.train_command import train_from_args

        return train_from_args(args)

    return run_with_user_errors("cl-train multimodal", train)
