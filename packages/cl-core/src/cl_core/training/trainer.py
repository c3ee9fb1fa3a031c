"""A Lightning ``Trainer`` factory with the project's defaults.

Progress bar on, CSV logs always, TensorBoard logs when ``tensorboard`` is installed, deterministic
seeding, atomic checkpoints written in the background (``last.ckpt`` plus every
``checkpoint_every_n_steps`` steps), and the sampler-progress callback that makes mid-epoch resume
exact.

Several GPUs or nodes: the same call with ``accelerator="gpu", devices=8, num_nodes=2,
strategy="ddp"`` run under ``torchrun``/SLURM (Lightning reads ``MASTER_ADDR``, ``NODE_RANK``, ...).
On CPU, ``devices=2, strategy="ddp"`` starts two gloo processes.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger

from cl_core.training.checkpoint import AtomicCheckpointIO, BackgroundCheckpointIO
from cl_core.training.resume import TrackSamplerProgress

CHECKPOINT_DIR = "checkpoints"


def tensorboard_available() -> bool:
    """Whether Lightning's TensorBoard logger can run (``tensorboard`` or ``tensorboardX``)."""
    return any(importlib.util.find_spec(name) for name in ("tensorboard", "tensorboardX"))


def checkpoint_dir(out_dir: str | Path) -> Path:
    """Where :func:`make_trainer` writes checkpoints for ``out_dir``."""
    return Path(out_dir) / CHECKPOINT_DIR


def make_trainer(
    out_dir: str | Path,
    *,
    max_epochs: int | None = None,
    max_steps: int = -1,
    seed: int = 0,
    accelerator: str = "auto",
    devices: int | str | Sequence[int] = "auto",
    num_nodes: int = 1,
    strategy: str | Any = "auto",
    precision: str = "32-true",
    sync_batchnorm: bool | None = None,
    local_negatives: bool = False,
    checkpoint_every_n_steps: int | None = None,
    progress_bar: bool = True,
    tensorboard: bool | None = None,
    callbacks: Sequence[Callback] = (),
    deterministic: bool = True,
    use_distributed_sampler: bool = False,
    log_every_n_steps: int = 10,
    background_checkpoints: bool = True,
    **trainer_kwargs: Any,
) -> pl.Trainer:
    """A seeded :class:`~lightning.pytorch.Trainer` that logs and checkpoints into ``out_dir``.

    Args:
        out_dir: run folder: ``logs/`` (CSV, and TensorBoard when available) and ``checkpoints/``.
        max_epochs: epochs to train (``None`` with ``max_steps=-1`` means Lightning's default).
        max_steps: optimizer steps to train (-1: no limit).
        seed: seeds Python, NumPy and torch (``seed_everything(workers=True)``).
        accelerator: ``"cpu"``, ``"gpu"``, ``"auto"``...
        devices: processes per node, passed to Lightning.
        num_nodes: machines, passed to Lightning.
        strategy: ``"auto"``, ``"ddp"``, ``"ddp_spawn"``... passed to Lightning.
        precision: Lightning precision (``"32-true"``, ``"bf16-mixed"``, ``"16-mixed"``, ...).
        sync_batchnorm: BatchNorm statistics over the global batch (default: when more than one
            process takes part): torch's SyncBatchNorm on GPUs, ``CpuSyncBatchNorm`` on the CPU.
        local_negatives: with several processes, in-batch losses of a
            :class:`~cl_core.training.ContrastiveModule` contrast each process's own rows only
            (default: they gather every process's candidates - one global batch).
        checkpoint_every_n_steps: also checkpoint every n optimizer steps (mid-epoch).
        progress_bar: show the TQDM progress bar.
        tensorboard: add a TensorBoard logger (default: when it is installed).
        callbacks: extra callbacks.
        deterministic: ``torch.use_deterministic_algorithms`` through Lightning.
        use_distributed_sampler: let Lightning inject a ``DistributedSampler``; ``False`` by default
            because :func:`~cl_core.training.resumable_loader` shards itself.
        log_every_n_steps: logging interval.
        background_checkpoints: write checkpoints on a background thread while training goes on
            (:class:`~cl_core.training.BackgroundCheckpointIO`; ``fit`` still returns only once
            they are on disk); ``False`` writes them in place
            (:class:`~cl_core.training.AtomicCheckpointIO`).
        **trainer_kwargs: any other ``Trainer`` argument.

    Returns:
        The trainer. Its ``ModelCheckpoint`` keeps the newest ``step=N.ckpt`` in
        :func:`checkpoint_dir` and ``last.ckpt`` as a link to it.

    Example:
        >>> trainer = make_trainer("runs/demo", max_epochs=1, progress_bar=False)  # doctest: +SKIP
    """
    if checkpoint_every_n_steps is not None and checkpoint_every_n_steps < 1:
        raise ValueError(
            f"checkpoint_every_n_steps must be >= 1 or None, got {checkpoint_every_n_steps}"
        )
    if num_nodes < 1:
        raise ValueError(f"num_nodes must be >= 1, got {num_nodes}")
    from cl_core.engine_options import EngineOptions
    from cl_core.training.engine import LocalNegatives, check_engine, sync_batchnorm_setup

    options = EngineOptions(
        accelerator=accelerator if isinstance(accelerator, str) else "auto",
        devices=devices if isinstance(devices, int | str) else len(devices),
        num_nodes=num_nodes,
        precision=precision,
    )
    check_engine(options)
    sync_batchnorm, batchnorm_callbacks = sync_batchnorm_setup(options, sync_batchnorm)
    # Lightning's model summary cannot size bf16/fp16 models and warns instead: skip it there.
    trainer_kwargs.setdefault("enable_model_summary", precision in ("32-true", "64-true"))
    out = Path(out_dir)
    pl.seed_everything(seed, workers=True, verbose=False)
    loggers: list[Logger] = [CSVLogger(out, name="logs", version="")]
    if tensorboard if tensorboard is not None else tensorboard_available():
        loggers.append(TensorBoardLogger(out, name="logs", version="tensorboard"))
    checkpoint = ModelCheckpoint(
        dirpath=checkpoint_dir(out),
        filename="{step}",
        # last.ckpt is a link to the newest step checkpoint: one write per checkpoint, not two.
        save_last="link",
        save_top_k=1,
        every_n_train_steps=checkpoint_every_n_steps,
        # Always last.ckpt, never last-v1.ckpt: with background writes the previous step file can
        # still exist (its removal is queued) when the link is replaced.
        enable_version_counter=False,
    )
    all_callbacks: list[Callback] = [
        checkpoint,
        TrackSamplerProgress(),
        *batchnorm_callbacks,
        *callbacks,
    ]
    if local_negatives:
        all_callbacks.append(LocalNegatives())
    if progress_bar:
        all_callbacks.append(TQDMProgressBar())
    return pl.Trainer(
        default_root_dir=out,
        max_epochs=max_epochs,
        max_steps=max_steps,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
        sync_batchnorm=sync_batchnorm,
        logger=loggers,
        callbacks=all_callbacks,
        plugins=[BackgroundCheckpointIO() if background_checkpoints else AtomicCheckpointIO()],
        enable_progress_bar=progress_bar,
        deterministic=deterministic,
        use_distributed_sampler=use_distributed_sampler,
        log_every_n_steps=log_every_n_steps,
        **trainer_kwargs,
    )
