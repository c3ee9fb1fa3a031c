"""Import-light command-line conventions shared by ``cl-train`` sub-commands and ``cl-bench``.

Modality packages build their ``cl-train MODALITY`` sub-command with these pieces instead of
depending on the ``cl-train`` app:

- :func:`add_engine_args`: the engine options, the same on every sub-command (``--accelerator``,
  ``--devices``, ``--num-nodes``, ``--strategy``, ``--precision``, ``--local-negatives``,
  ``--resume``, ``--checkpoint-every``, ``--out``, ``--seed``); :func:`engine_options` turns them
  into an :class:`~cl_core.engine_options.EngineOptions`; :func:`refuse_engine_options` refuses,
  in one line, those a method cannot honour;
- :func:`add_common_args`: the engine options plus ``--epochs``, ``--batch-size``, ``--lr``;
- :func:`trainer_options`: those arguments as keyword arguments of
  :func:`cl_core.training.make_trainer`;
- :class:`UserFacingError`: raise it for a problem the user can fix; the app prints
  ``cl-train: error: <message>`` and exits with status 2 (:func:`run_with_user_errors`);
- :func:`prepare_out_dir`: create and check the output folder.

This module imports only the standard library, so registering sub-commands keeps ``--help`` instant.
Several GPUs or machines use the same command: ``--accelerator gpu --devices 8 --num-nodes 2
--strategy ddp`` under ``torchrun`` or SLURM (Lightning reads the cluster environment).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="cl-train demo")
    >>> add_common_args(parser, epochs=5)
    >>> args = parser.parse_args(["--devices", "2", "--resume"])
    >>> (args.devices, args.resume, args.epochs)
    (2, 'last', 5)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cl_core.engine_options import DEFAULT_ENGINE, PRECISIONS, EngineOptions

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class UserFacingError(Exception):
    """An error the user can fix (bad option, missing file); reported in one line, no traceback."""


def positive_int(text: str) -> int:
    """``argparse`` type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """``argparse`` type: a float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """``argparse`` type: a float >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def devices_arg(text: str) -> int | str:
    """``argparse`` type for ``--devices``: ``auto``, a count >= 1, or ``-1`` (all)."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an integer, got {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"expected 'auto', -1 or an integer >= 1, got {value}")
    return value


def timestamp() -> str:
    """UTC time as ``YYYYmmdd-HHMMSS``, for default output folders."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def add_engine_args(parser: argparse.ArgumentParser, *, default_out: str | None = None) -> None:
    """Add the engine options (:class:`~cl_core.engine_options.EngineOptions`) and ``--out``.

    ``--accelerator``, ``--devices``, ``--num-nodes``, ``--strategy``, ``--precision``,
    ``--local-negatives``, ``--resume``, ``--checkpoint-every``, ``--out`` and ``--seed``: the same
    on every sub-command, with the defaults of :data:`~cl_core.engine_options.DEFAULT_ENGINE`.
    """
    defaults = DEFAULT_ENGINE
    group = parser.add_argument_group("engine (the same on every modality)")
    group.add_argument(
        "--out",
        type=Path,
        default=Path(default_out or f"cl-train-runs/{timestamp()}"),
        help="run folder for logs, checkpoints and plots (default: ./cl-train-runs/<timestamp>)",
    )
    group.add_argument(
        "--resume",
        nargs="?",
        const="last",
        default=defaults.resume,
        metavar="CKPT",
        help="continue from OUT/checkpoints/last.ckpt (no value, or 'last') or from a file",
    )
    group.add_argument(
        "--seed", type=int, default=defaults.seed, help=f"random seed (default: {defaults.seed})"
    )
    group.add_argument(
        "--accelerator",
        default=defaults.accelerator,
        help=f"cpu, gpu, mps or auto (default: {defaults.accelerator})",
    )
    group.add_argument(
        "--devices",
        type=devices_arg,
        default=defaults.devices,
        help=f"processes per node: a count, -1 for all, or auto (default: {defaults.devices})",
    )
    group.add_argument(
        "--num-nodes",
        type=positive_int,
        default=defaults.num_nodes,
        help=f"machines taking part (default: {defaults.num_nodes})",
    )
    group.add_argument(
        "--strategy",
        default=defaults.strategy,
        help=f"Lightning strategy: auto, ddp, ddp_spawn, ... (default: {defaults.strategy})",
    )
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=defaults.precision,
        help=f"Lightning precision (default: {defaults.precision}); bf16-mixed runs on CPU too",
    )
    group.add_argument(
        "--local-negatives",
        action="store_true",
        default=defaults.local_negatives,
        help="with several processes, contrast each process's own batch only (default: gather "
        "the candidates of every process: one global batch)",
    )
    group.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=defaults.checkpoint_every,
        metavar="STEPS",
        help="also checkpoint every STEPS optimizer steps (default: end of each epoch)",
    )


def add_common_args(
    parser: argparse.ArgumentParser,
    *,
    epochs: int | None = 10,
    batch_size: int | None = 256,
    lr: float | None = 1e-3,
    default_out: str | None = None,
) -> None:
    """Add the engine options (:func:`add_engine_args`) and the shared training options.

    Args:
        parser: the sub-command's parser.
        epochs: default of ``--epochs`` (``None``: the sub-command has no such option).
        batch_size: default of ``--batch-size``, per process (``None``: no such option).
        lr: default of ``--lr`` (``None``: no such option).
        default_out: default of ``--out`` (default: ``./cl-train-runs/<timestamp>``).
    """
    add_engine_args(parser, default_out=default_out)
    group = parser.add_argument_group("training (shared by every modality)")
    if epochs is not None:
        group.add_argument(
            "--epochs", type=positive_int, default=epochs, help=f"epochs (default: {epochs})"
        )
    if batch_size is not None:
        group.add_argument(
            "--batch-size",
            type=positive_int,
            default=batch_size,
            help=f"batch size per process (default: {batch_size})",
        )
    if lr is not None:
        group.add_argument(
            "--lr", type=positive_float, default=lr, help=f"peak learning rate (default: {lr})"
        )


def engine_options(args: argparse.Namespace) -> EngineOptions:
    """The :class:`~cl_core.engine_options.EngineOptions` of parsed :func:`add_engine_args`."""
    return EngineOptions(
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        strategy=args.strategy,
        precision=args.precision,
        local_negatives=args.local_negatives,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        seed=args.seed,
    )


def refuse_engine_options(args: argparse.Namespace, reason: str, *names: str) -> None:
    """Refuse, in one line, engine options a method cannot honour when set off their default.

    Args:
        args: parsed arguments of :func:`add_engine_args`.
        reason: why, e.g. ``"COCONUT trains one process per task sequence"``.
        *names: option names without dashes (``"devices"``, ``"num_nodes"``, ``"strategy"``,
            ``"precision"``, ``"local_negatives"``, ``"resume"``, ``"checkpoint_every"``...).

    Raises:
        UserFacingError: the first such option that is set.
    """
    for name in names:
        default = getattr(DEFAULT_ENGINE, name)
        value = getattr(args, name)
        if value != default and not (name == "devices" and value == 1):
            flag = "--" + name.replace("_", "-")
            shown = "" if isinstance(value, bool) else f" {value}"
            raise UserFacingError(f"{flag}{shown} is not supported here: {reason}")


def trainer_options(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`~cl_core.training.make_trainer` arguments for the :func:`add_common_args` options."""
    options: dict[str, Any] = {
        "seed": args.seed,
        "accelerator": args.accelerator,
        "devices": args.devices,
        "num_nodes": args.num_nodes,
        "strategy": args.strategy,
        "precision": args.precision,
        "local_negatives": args.local_negatives,
        "checkpoint_every_n_steps": args.checkpoint_every,
    }
    if hasattr(args, "epochs"):
        options["max_epochs"] = args.epochs
    return options


def prepare_out_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Create ``path`` (with parents) and check that files can be written in it.

    Raises:
        UserFacingError: the folder cannot be created or written.
    """
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UserFacingError(f"{option} {out} is not a writable folder ({reason})") from None
    return out


def run_with_user_errors(prog: str, func: Callable[[], int]) -> int:
    """Run ``func``; report :class:`UserFacingError` and Ctrl-C in one line on stderr.

    Returns:
        ``func``'s exit status, 2 after a :class:`UserFacingError`, 130 after Ctrl-C.
    """
    try:
        return func()
    except UserFacingError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
