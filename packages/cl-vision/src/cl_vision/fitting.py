"""Fit a Lightning module with the kernel's trainer and time it: the loop every vision recipe runs.

:func:`cl_core.training.make_trainer` gives the progress bar, atomic checkpoints and seeding;
``resume`` goes through :func:`cl_core.training.resolve_resume` (``"last"`` or a path).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from torch.utils.data import DataLoader

from cl_core.training import make_trainer, resolve_resume
from cl_core.training.trainer import checkpoint_dir


def sync_batchnorm_on_cpu(module: pl.LightningModule, trainer_options: dict[str, Any]) -> None:
    """Under CPU data parallelism, make ``module``'s BatchNorm layers use global batch statistics.

    ``torch.nn.SyncBatchNorm`` (what the trainer turns on for several processes) is GPU-only;
    :class:`cl_core.training.cpu_sync_batchnorm.CpuSyncBatchNorm` all-reduces them over gloo.
    """
    import torch

    from cl_core.engine_options import EngineOptions
    from cl_core.training.cpu_sync_batchnorm import convert_cpu_sync_batchnorm

    accelerator = trainer_options.get("accelerator", "auto")
    devices = trainer_options.get("devices", "auto")
    engine = EngineOptions(
        devices=devices if isinstance(devices, int | str) else len(devices),
        num_nodes=trainer_options.get("num_nodes", 1),
    )
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if on_cpu and engine.world_size_hint() > 1:
        convert_cpu_sync_batchnorm(module)


@dataclass(frozen=True)
class TimedFit:
    """The optimizer steps done (counting those before a resume) and the wall time of ``fit``."""

    global_step: int
    train_time_s: float


def fit_timed(
    module: pl.LightningModule,
    loader: DataLoader,
    out_dir: str | Path,
    *,
    epochs: int,
    seed: int,
    resume: str | None = None,
    callbacks: Sequence[Any] = (),
    **trainer_options: Any,
) -> TimedFit:
    """Train ``module`` on ``loader`` for ``epochs`` epochs in ``out_dir`` and time the fit.

    No model summary and no TensorBoard logger by default, and a log line at least once per
    epoch (every ``min(10, len(loader))`` steps); ``trainer_options`` override these.

    Args:
        module: the Lightning module.
        loader: the training batches (a :func:`cl_core.training.resumable_loader`).
        out_dir: run folder (logs, ``checkpoints/last.ckpt``).
        epochs: passes over ``loader``.
        seed: seed of :func:`cl_core.training.make_trainer`.
        resume: ``None``, ``"last"`` or a checkpoint path.
        callbacks: extra Lightning callbacks.
        **trainer_options: more :func:`cl_core.training.make_trainer` arguments (e.g.
            ``progress_bar=False``).

    Returns:
        A :class:`TimedFit`.
    """
    options: dict[str, Any] = {
        "enable_model_summary": False,
        "tensorboard": False,
        "log_every_n_steps": min(10, len(loader)),
    }
    options.update(trainer_options)
    sync_batchnorm_on_cpu(module, options)
    trainer = make_trainer(out_dir, max_epochs=epochs, seed=seed, callbacks=callbacks, **options)
    started = time.perf_counter()
    trainer.fit(module, loader, ckpt_path=resolve_resume(resume, checkpoint_dir(out_dir)))
    return TimedFit(trainer.global_step, time.perf_counter() - started)
