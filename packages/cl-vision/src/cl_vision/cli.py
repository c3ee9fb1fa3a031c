"""``cl-train vision``: contrastive pre-training of an image encoder, then frozen-feature probes.

Registration imports only the standard library and :mod:`cl_core.cli`; torch is imported when the
command runs (:mod:`cl_vision.train_command`).
"""

from __future__ import annotations

import argparse

from cl_core.cli import (
    add_common_args,
    non_negative_float,
    positive_float,
    positive_int,
    run_with_user_errors,
)

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
#: Methods with their own training recipe: :mod:`cl_vision.mcl`, :mod:`cl_vision.pixpro_training`,
#: :mod:`cl_vision.sepclr` (see :mod:`cl_vision.train_recipes`).
RECIPE_METHODS = ("mcl", "pixpro", "sepclr")
ENCODER_CHOICES = ("resnet", "efficientnet-lite0")
#: ``--lr`` when it is not given: the optimiser each recipe was tuned with.
DEFAULT_LR = {"pixpro": 1e-3, "sepclr": 3e-4}
LIGHTNING_DEFAULT_LR = 2e-3


def cluster_count(text: str) -> int:
    """``argparse`` type: an integer >= 2 (k-means clusters)."""
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``vision`` sub-command to ``cl-train``'s sub-parsers and return its parser."""
    parser = subparsers.add_parser(
        "vision",
        help=(
            "image CL: SimCLR, DCL/DCLW, NNCLR, MV-InfoNCE/MV-DHEL, Hydra, AMCL, CACR, hard-NCE, "
            "MCL, PixPro, SepCLR"
        ),
        description=(
            "Pre-train an image encoder contrastively on digits, Fashion-MNIST or an ImageFolder "
            "(one sub-folder per class), then write results.json (kNN / linear-probe accuracy, "
            "effective rank, next to raw-pixel and random-init probes), embeddings.npz and "
            "checkpoints into --out. SepCLR trains on two folders instead: --background DIR "
            "--target DIR (or --data fashion-mnist for the built-in background/target set)."
        ),
    )
    parser.add_argument(
        "--method", choices=METHOD_CHOICES + RECIPE_METHODS, default="simclr", help="method"
    )
    parser.add_argument(
        "--data",
        default="digits",
        metavar="{digits,fashion-mnist,PATH}",
        help="digits, fashion-mnist, or a folder in ImageFolder layout (default: digits)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Fashion-MNIST folder, or a data folder holding fashion-mnist/ (default: the Debian "
        "package dataset-fashion-mnist, $CL_DATA_DIR, the cache, then torchvision's download)",
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
        help="softmax temperature (default: per method; sepclr: kernel temperature 0.5)",
    )
    add_common_args(parser, epochs=20, batch_size=256, lr=LIGHTNING_DEFAULT_LR)
    _method_defaults_for_lr(parser)
    _add_recipe_args(parser)
    parser.set_defaults(func=run)
    return parser


def _method_defaults_for_lr(parser: argparse.ArgumentParser) -> None:
    """``--lr`` defaults per method: left unset here and resolved by :func:`resolved_lr`."""
    for action in parser._actions:
        if action.dest == "lr":
            action.default = None
            action.help = (
                f"peak learning rate (default: {LIGHTNING_DEFAULT_LR:g}; pixpro "
                f"{DEFAULT_LR['pixpro']:g}, sepclr {DEFAULT_LR['sepclr']:g})"
            )


def resolved_lr(args: argparse.Namespace) -> float:
    """``--lr`` if given, else the default of ``--method``."""
    if args.lr is not None:
        return float(args.lr)
    return DEFAULT_LR.get(args.method, LIGHTNING_DEFAULT_LR)


def _add_recipe_args(parser: argparse.ArgumentParser) -> None:
    mcl = parser.add_argument_group("MCL (--method mcl; Zhang et al., ECCV 2024)")
    mcl.add_argument(
        "--stages", type=positive_int, default=2, help="training stages S (default: 2)"
    )
    mcl.add_argument(
        "--clusters",
        type=cluster_count,
        default=10,
        help="k-means clusters K per stage; batches of later stages come from one cluster "
        "(default: 10, as the paper)",
    )
    mcl.add_argument(
        "--stage-method",
        choices=METHOD_CHOICES,
        default="simclr",
        help="loss trained in every stage (default: simclr)",
    )
    pixpro = parser.add_argument_group("PixPro (--method pixpro; Xie et al., CVPR 2021)")
    pixpro.add_argument(
        "--pixpro-threshold",
        type=positive_float,
        default=0.7,
        help="positive-pixel distance threshold T (default: 0.7)",
    )
    pixpro.add_argument(
        "--pixpro-gamma",
        type=positive_float,
        default=2.0,
        help="sharpness of the pixel propagation (default: 2)",
    )
    pixpro.add_argument(
        "--base-momentum",
        type=non_negative_float,
        default=0.99,
        help="key-encoder momentum at the first step, in [0, 1); rises to 1 (default: 0.99)",
    )
    sep = parser.add_argument_group(
        "SepCLR (--method sepclr; Louiset et al., ICLR 2024)",
        "Background images lack the salient factor, target images have it. Give two folders in "
        "ImageFolder layout; the target's sub-folders name the salient classes (probed from each "
        "space), the background's only group images. Without them, --data fashion-mnist uses "
        "Fashion-MNIST items as background and items with a pasted digit as target.",
    )
    sep.add_argument("--background", default=None, metavar="DIR", help="background images")
    sep.add_argument("--target", default=None, metavar="DIR", help="target images")
    sep.add_argument(
        "--space-dim", type=positive_int, default=32, help="size of each space (default: 32)"
    )
    sep.add_argument(
        "--beta-salient",
        type=non_negative_float,
        default=1000.0,
        help="weight of the salient-space terms (default: 1000)",
    )
    sep.add_argument(
        "--beta-reg",
        type=non_negative_float,
        default=1000.0,
        help="weight pulling background salient codes to 0 (default: 1000)",
    )
    sep.add_argument(
        "--lambda-jem",
        type=non_negative_float,
        default=10.0,
        help="weight of the k-JEM term; 0 turns it off (default: 10)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the command; a user error is printed in one line and gives exit status 2."""
    from cl_vision.train_command import train_from_args

    return run_with_user_errors("cl-train vision", lambda: train_from_args(args))
