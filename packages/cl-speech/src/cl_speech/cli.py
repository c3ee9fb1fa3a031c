"""``cl-train speech``: class-incremental spoken language understanding (COCONUT and baselines).

``cl-train speech make-data --out CACHE`` synthesizes the spoken-command corpus once;
``cl-train speech --method coconut --data CACHE --out RUN`` trains task by task and writes the
metrics after every task. Registration imports only the standard library and :mod:`cl_core.cli`.
The engine options (``--accelerator``, ``--devices``, ``--precision``, ``--out``, ``--seed``...)
are the shared ones of :func:`cl_core.cli.add_common_args`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cl_core.cli import add_common_args, positive_float, positive_int, run_with_user_errors

METHOD_CHOICES = ("coconut", "replay", "kd", "finetune")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``speech`` sub-command (and its ``make-data`` step) to ``cl-train``."""
    parser = subparsers.add_parser(
        "speech",
        help="continual spoken language understanding: COCONUT, replay, KD, fine-tuning",
        description=(
            "Train an audio encoder + text decoder (transcript and intent) on a sequence of "
            "intent tasks and report intent accuracy, average accuracy, forgetting and WER after "
            "every task. Build the corpus first with `cl-train speech make-data --out CACHE`."
        ),
    )
    parser.add_argument("--method", choices=METHOD_CHOICES, default="coconut", help="method")
    parser.add_argument(
        "--data", type=Path, default=None, metavar="CACHE", help="corpus folder from make-data"
    )
    # --epochs is per task; --batch-size counts current-task utterances (replay adds half as many).
    add_common_args(parser, epochs=15, batch_size=16, lr=3e-3)
    parser.add_argument(
        "--tasks", type=positive_int, default=4, help="number of intent tasks (default: 4)"
    )
    parser.add_argument(
        "--buffer-size",
        type=positive_int,
        default=96,
        help="replay buffer size in utterances, class-balanced (default: 96)",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        default=0.1,
        help="dropout inside the encoder and decoder transformers (default: 0.1)",
    )
    parser.add_argument(
        "--nspt-weight",
        type=float,
        default=0.1,
        help="COCONUT lambda_1, weight of the NSPT loss (default: 0.1, chosen on validation)",
    )
    parser.add_argument(
        "--mm-weight",
        type=float,
        default=0.05,
        help="COCONUT lambda_2, audio-text loss weight (default: 0.05, chosen on validation)",
    )
    parser.add_argument(
        "--temperature",
        type=positive_float,
        default=0.1,
        help="temperature of the COCONUT losses (default: 0.1, chosen on validation)",
    )
    parser.add_argument(
        "--validation",
        action="store_true",
        help=(
            "score on held-out training voices instead of the test voices; use it to choose "
            "hyper-parameters"
        ),
    )
    parser.set_defaults(func=run_train)
    steps = parser.add_subparsers(dest="speech_step", metavar="STEP", title="steps")
    make = steps.add_parser(
        "make-data",
        help="synthesize the spoken-command corpus (espeak-ng + flite) into a cache folder",
        description=(
            "Synthesize a Fluent-Speech-Commands-style corpus: every intent spoken by many "
            "synthesized voices (varied voice, rate, pitch, added noise). Writes wavs/, "
            "manifest.csv and DATA_CARD.md; existing WAV files are kept."
        ),
    )
    make.add_argument("--out", type=Path, required=True, metavar="CACHE", help="corpus folder")
    make.add_argument(
        "--n-speakers", type=positive_int, default=40, help="synthetic voices (default: 40)"
    )
    make.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    make.add_argument(
        "--workers", type=positive_int, default=2, help="parallel synthesizer processes"
    )
    make.set_defaults(func=run_make_data)
    _register_sweep(steps)
    return parser


def _float_list(text: str) -> list[float]:
    """``argparse`` type: comma-separated floats, e.g. ``0.01,0.05,0.2``."""
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, e.g. 0.01,0.2; got {text!r}"
        ) from None


def _int_list(text: str) -> list[int]:
    """``argparse`` type: comma-separated integers, e.g. ``0,1,2``."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, e.g. 0,1,2; got {text!r}"
        ) from None


def _shard(text: str) -> tuple[int, int]:
    """``argparse`` type: ``I/N`` with ``0 <= I < N``, e.g. ``1/2``."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N, e.g. 0/2; got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"expected I/N with 0 <= I < N, got {text!r}")
    return index, count


def _register_sweep(steps: argparse._SubParsersAction) -> None:
    sweep = steps.add_parser(
        "sweep",
        help="choose COCONUT's weights and temperature on held-out training voices (multi-seed)",
        description=(
            "Run replay-only and COCONUT at every (nspt weight, mm weight, temperature) of a grid "
            "for every seed on the validation split (held-out training voices of that seed; the "
            "test voices are not used). Each (configuration, seed) run is saved to OUT/runs/ and "
            "OUT/sweep.json (mean +- std over seeds) is rebuilt after every run; rerun to resume. "
            "Prints a table (mean +- std over seeds), lowest mean forgetting first, with "
            "replay-only as the reference row; the winner is the COCONUT setting with the lowest "
            "mean forgetting. Defaults: the full bench profile (4 tasks, 15 epochs, buffer 96)."
        ),
    )
    sweep.add_argument("--data", type=Path, required=True, metavar="CACHE", help="corpus folder")
    sweep.add_argument("--out", type=Path, required=True, help="output folder")
    sweep.add_argument(
        "--seeds", type=_int_list, default=[0, 1, 2], help="seeds, e.g. 0,1,2 (default: 0,1,2)"
    )
    sweep.add_argument(
        "--shard",
        type=_shard,
        default=(0, 1),
        metavar="I/N",
        help="run every N-th job from I; start N processes on one --out (default: 0/1)",
    )
    sweep.add_argument("--tasks", type=positive_int, default=4, help="tasks (default: 4)")
    sweep.add_argument("--epochs", type=positive_int, default=15, help="epochs (default: 15)")
    sweep.add_argument(
        "--buffer-size", type=positive_int, default=96, help="replay buffer (default: 96)"
    )
    sweep.add_argument(
        "--nspt-weights",
        type=_float_list,
        default=[0.01, 0.1, 0.5, 1.0],
        help="lambda_1 grid (default: 0.01,0.1,0.5,1)",
    )
    sweep.add_argument(
        "--mm-weights",
        type=_float_list,
        default=[0.05, 0.2],
        help="lambda_2 grid (default: 0.05,0.2)",
    )
    sweep.add_argument(
        "--temperatures",
        type=_float_list,
        default=[0.1, 0.5],
        help="temperature grid (default: 0.1,0.5)",
    )
    sweep.set_defaults(func=run_sweep)


def run_train(args: argparse.Namespace) -> int:
    """Run the training command; a user error is printed in one line and gives exit status 2."""

    def train() -> int:
        from cl_speech.train_command import train_from_args

        return train_from_args(args)

    return run_with_user_errors("cl-train speech", train)


def run_sweep(args: argparse.Namespace) -> int:
    """Run ``sweep``; a user error is printed in one line and gives exit status 2."""

    def sweep() -> int:
        from cl_speech.train_command import sweep_from_args

        return sweep_from_args(args)

    return run_with_user_errors("cl-train speech sweep", sweep)


def run_make_data(args: argparse.Namespace) -> int:
    """Run ``make-data``; a user error is printed in one line and gives exit status 2."""

    def make() -> int:
        from cl_speech.train_command import make_data_from_args

        return make_data_from_args(args)

    return run_with_user_errors("cl-train speech make-data", make)
