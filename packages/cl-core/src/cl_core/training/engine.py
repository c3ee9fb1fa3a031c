"""The engine for methods that are not views -> encoder -> head -> loss: any model, any batch loss.

A modality package hands the engine a model, a loader and an *objective* - a function of
``(model, batch)`` that returns the batch's scalar loss (or ``(loss, logs)``) - and the engine owns
the rest: Lightning's ``Trainer`` runs the optimisation loop (backward, optimizer and scheduler
steps, gradient clipping, mixed precision, data-parallel processes with SyncBatchNorm, checkpoints,
resume). No modality package writes ``loss.backward()`` or ``optimizer.step()``.

Small benchmark rows fit many small models. Without an output folder, :func:`fit_objective` builds a
bare trainer (no logger, no checkpoint callback, no model summary, no progress bar unless asked),
so a fit costs little more than its steps; ``benchmarks/engine_overhead.py`` measures it against a
plain loop.

Example:
    >>> from torch.utils.data import TensorDataset
    >>> model = nn.Linear(3, 1)
    >>> data = TensorDataset(torch.randn(16, 3), torch.randn(16, 1))
    >>> def objective(model, batch):
    ...     x, y = batch
    ...     return ((model(x) - y) ** 2).mean()
    >>> result = fit_objective(model, objective, resumable_loader(data, 4), epochs=2, lr=0.1)
    >>> result.steps
    8
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor, nn
from torch.utils.data import Dataset

from cl_core.cli import UserFacingError
from cl_core.engine_options import DEFAULT_ENGINE, GPU_ONLY_PRECISIONS, EngineOptions
from cl_core.training.sampler import ResumableDataLoader, resumable_loader
from cl_core.training.schedule import warmup_cosine_schedule

ObjectiveOutput = Tensor | tuple[Tensor, Mapping[str, Tensor | float]]
Objective = Callable[[nn.Module, Any], ObjectiveOutput]
OptimizerFactory = Callable[[Sequence[dict[str, Any]]], torch.optim.Optimizer]
Schedule = Literal["constant", "cosine", "warmup_cosine"]


def check_engine(options: EngineOptions) -> None:
    """Refuse, in one line, an accelerator that is not there or a precision it cannot run.

    Raises:
        UserFacingError: ``--accelerator gpu`` without a visible CUDA device, more devices than
            are visible, ``mps`` without Apple's backend, or a GPU-only precision on the CPU.
    """
    accelerator = options.accelerator
    if accelerator in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise UserFacingError(
                f"--accelerator {accelerator}: no CUDA GPU is visible to torch "
                "(torch.cuda.is_available() is False); use --accelerator cpu"
            )
        visible = torch.cuda.device_count()
        if isinstance(options.devices, int) and options.devices > visible:
            raise UserFacingError(
                f"--devices {options.devices}: only {visible} CUDA GPU(s) are visible"
            )
    if accelerator == "mps" and not torch.backends.mps.is_available():
        raise UserFacingError("--accelerator mps: Apple's MPS backend is not available here")
    if runs_on_cpu(accelerator) and options.precision in GPU_ONLY_PRECISIONS:
        raise UserFacingError(
            f"--precision {options.precision} needs a CUDA GPU; on the CPU use bf16-mixed"
        )


def gather_negatives(local_negatives: bool = DEFAULT_ENGINE.local_negatives) -> bool:
    """Whether in-batch losses should gather candidates across processes right now.

    True when ``torch.distributed`` runs with more than one process and ``local_negatives`` is
    off: the engine's default, so W processes at batch b train as one batch of W * b.
    """
    if local_negatives:
        return False
    distributed = torch.distributed
    return bool(
        distributed.is_available()
        and distributed.is_initialized()
        and distributed.get_world_size() > 1
    )


class LocalNegatives(Callback):
    """Marks a trainer whose in-batch losses keep each process's negatives local.

    :func:`~cl_core.training.make_trainer` adds it for ``local_negatives=True``;
    :class:`~cl_core.training.ContrastiveModule` then passes ``gather=False``.
    """


def trainer_wants_local_negatives(trainer: pl.Trainer | None) -> bool:
    """Whether ``trainer`` carries the :class:`LocalNegatives` marker."""
    return trainer is not None and any(isinstance(c, LocalNegatives) for c in trainer.callbacks)


class _Indices(Dataset[int]):
    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> int:
        return index


def index_loader(
    num_samples: int, batch_size: int, *, seed: int = 0, shuffle: bool = True
) -> ResumableDataLoader:
    """Batches of row indices (``LongTensor``), seeded per epoch, sharded over processes.

    For data that lives in tensors or lists of the caller's: the objective looks the rows up.
    Incomplete tail batches are dropped, so every step has ``batch_size`` rows per process (see
    :class:`~cl_core.training.ResumableSampler`); ``batch_size`` is capped at ``num_samples``.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    return resumable_loader(
        _Indices(num_samples), min(batch_size, num_samples), seed=seed, shuffle=shuffle
    )


@dataclass
class FitResult:
    """What one :func:`fit_objective` call measured."""

    steps: int
    train_time_s: float
    epoch_losses: list[float] = field(default_factory=list)


class ObjectiveModule(pl.LightningModule):
    """Lightning module around any model and the loss of one batch.

    A training step is ``loss = objective(model, batch)`` (or ``loss, logs``); Lightning does the
    backward pass and the optimizer step. AdamW by default (``optimizer`` replaces it), with a
    constant, cosine or linear-warm-up + cosine learning rate per step.

    Args:
        model: the module to train (its parameters with ``requires_grad`` are optimised).
        objective: ``(model, batch) -> loss`` or ``(loss, logs)``; ``logs`` values are logged as
            ``train/<name>``.
        lr: learning rate (the peak of the schedule).
        weight_decay: AdamW weight decay.
        optimizer: ``param_groups -> Optimizer`` to use instead of AdamW.
        param_groups: the optimizer's parameter groups (default: one group of every trainable
            parameter).
        schedule: ``"constant"``, ``"cosine"`` (from ``lr`` to 0) or ``"warmup_cosine"``.
        warmup_fraction: warm-up share of the steps for ``"warmup_cosine"``.
        total_steps: schedule length (default: the trainer's estimate).
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        *,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: OptimizerFactory | None = None,
        param_groups: Sequence[dict[str, Any]] | None = None,
        schedule: Schedule = "constant",
        warmup_fraction: float = 0.0,
        total_steps: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not callable(objective):
            raise TypeError(f"objective must be callable, got {type(objective).__name__}")
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if schedule not in ("constant", "cosine", "warmup_cosine"):
            raise ValueError(
                f"schedule must be constant, cosine or warmup_cosine, got {schedule!r}"
            )
        self.model = model
        self.objective = objective
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer_factory = optimizer
        self.groups = param_groups
        self.schedule = schedule
        self.warmup_fraction = warmup_fraction
        self.total_steps = total_steps
        self.epoch_losses: list[float] = []
        self._loss_sum: Tensor | None = None
        self._loss_count = 0

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        output = self.objective(self.model, batch)
        loss, logs = output if isinstance(output, tuple) else (output, {})
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            raise TypeError("the objective must return a scalar tensor (or (scalar, logs))")
        detached = loss.detach().float()
        self._loss_sum = detached if self._loss_sum is None else self._loss_sum + detached
        self._loss_count += 1
        # Logged even without a logger: callbacks (early stopping, ...) read callback_metrics.
        self.log("train/loss", detached, prog_bar=True, batch_size=1)
        for name, value in logs.items():
            self.log(f"train/{name}", value, batch_size=1)
        return loss

    def on_train_epoch_end(self) -> None:
        if self._loss_count:
            self.epoch_losses.append(float(self._loss_sum) / self._loss_count)
        self._loss_sum, self._loss_count = None, 0

    def configure_optimizers(self) -> Any:
        groups = (
            list(self.groups)
            if self.groups is not None
            else [{"params": [p for p in self.model.parameters() if p.requires_grad]}]
        )
        if self.optimizer_factory is not None:
            optimizer = self.optimizer_factory(groups)
        else:
            optimizer = torch.optim.AdamW(groups, lr=self.lr, weight_decay=self.weight_decay)
        if self.schedule == "constant":
            return optimizer
        total = self.total_steps or max(1, int(self.trainer.estimated_stepping_batches))
        warmup = int(self.warmup_fraction * total) if self.schedule == "warmup_cosine" else 0
        scheduler = warmup_cosine_schedule(optimizer, warmup_steps=warmup, total_steps=total)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Hide Lightning's per-fit notices (device lines, loader-worker tips) inside the block."""
    import logging

    loggers = [
        logging.getLogger(name)
        for name in (
            "lightning.pytorch.utilities.rank_zero",
            "lightning.fabric.utilities.rank_zero",
            "lightning.pytorch.accelerators.cuda",
        )
    ]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*number of training batches.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        # Methods that train a head on a frozen encoder keep the encoder in eval mode on purpose.
        warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode.*")
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


class SyncBatchNormOnCpu(Callback):
    """Turns BatchNorm layers into :class:`~cl_core.training.cpu_sync_batchnorm.CpuSyncBatchNorm`
    before the model is wrapped for data-parallel training on the CPU (gloo), where
    ``torch.nn.SyncBatchNorm`` is refused; :func:`sync_batchnorm_setup` installs it."""

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        from cl_core.training.cpu_sync_batchnorm import convert_cpu_sync_batchnorm

        convert_cpu_sync_batchnorm(pl_module)


def runs_on_cpu(accelerator: str) -> bool:
    """Whether ``accelerator`` resolves to the CPU here."""
    return accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())


def sync_batchnorm_setup(
    options: EngineOptions, sync_batchnorm: bool | None = None
) -> tuple[bool, list[Callback]]:
    """``(Trainer sync_batchnorm flag, callbacks)`` for global-batch BatchNorm statistics.

    ``sync_batchnorm=None`` means: when more than one process trains. On GPUs that is
    Lightning's ``torch.nn.SyncBatchNorm`` conversion; on the CPU, :class:`SyncBatchNormOnCpu`.
    """
    wanted = options.world_size_hint() > 1 if sync_batchnorm is None else sync_batchnorm
    if wanted and runs_on_cpu(options.accelerator):
        return False, [SyncBatchNormOnCpu()]
    return wanted, []


def fit_objective(
    model: nn.Module,
    objective: Objective,
    loader: Iterable[Any],
    *,
    epochs: int | None = None,
    max_steps: int = -1,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: OptimizerFactory | None = None,
    param_groups: Sequence[dict[str, Any]] | None = None,
    schedule: Schedule = "constant",
    warmup_fraction: float = 0.0,
    gradient_clip_val: float | None = None,
    engine: EngineOptions = DEFAULT_ENGINE,
    out_dir: str | Path | None = None,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
) -> FitResult:
    """Train ``model`` on ``loader`` by minimising ``objective`` with the kernel's engine.

    Args:
        model: trained in place (it is in eval mode afterwards).
        objective: ``(model, batch) -> loss`` or ``(loss, logs)``.
        loader: training batches: a :func:`~cl_core.training.resumable_loader` /
            :func:`index_loader` (sharded over processes and exactly resumable) or any iterable.
        epochs: passes over ``loader``; ``max_steps`` caps the optimizer steps (-1: no cap).
        lr, weight_decay, optimizer, param_groups, schedule, warmup_fraction: see
            :class:`ObjectiveModule`.
        gradient_clip_val: clip the gradient norm to this value (``None``: no clipping).
        engine: devices, processes, precision, seed, checkpointing and resume.
        out_dir: run folder for logs and checkpoints (:func:`~cl_core.training.make_trainer`);
            ``None``: a bare trainer that writes nothing (benchmark rows).
        progress: show a progress bar.
        callbacks: extra Lightning callbacks (per-epoch evaluation, ...).

    Returns:
        Steps taken, training wall time and the mean loss of every epoch.
    """
    from cl_core.training.resume import TrackSamplerProgress, resolve_resume
    from cl_core.training.trainer import checkpoint_dir, make_trainer

    if epochs is None and max_steps < 0:
        raise ValueError("give epochs or max_steps")
    check_engine(engine)
    module = ObjectiveModule(
        model,
        objective,
        lr=lr,
        weight_decay=weight_decay,
        optimizer=optimizer,
        param_groups=param_groups,
        schedule=schedule,
        warmup_fraction=warmup_fraction,
    )
    common = {
        "max_epochs": epochs,
        "max_steps": max_steps,
        "gradient_clip_val": gradient_clip_val,
        "enable_model_summary": False,
        "accelerator": engine.accelerator,
        "devices": engine.devices,
        "num_nodes": engine.num_nodes,
        "strategy": engine.strategy,
        "precision": engine.precision,
    }
    with quiet_lightning():
        if out_dir is None:
            pl.seed_everything(engine.seed, workers=True, verbose=False)
            sync_batchnorm, batchnorm_callbacks = sync_batchnorm_setup(engine)
            trainer = pl.Trainer(
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=progress,
                callbacks=[TrackSamplerProgress(), *batchnorm_callbacks, *callbacks],
                use_distributed_sampler=False,
                sync_batchnorm=sync_batchnorm,
                **common,
            )
            ckpt_path = None
        else:
            trainer = make_trainer(
                out_dir,
                seed=engine.seed,
                checkpoint_every_n_steps=engine.checkpoint_every,
                local_negatives=engine.local_negatives,
                progress_bar=progress,
                callbacks=callbacks,
                log_every_n_steps=1,
                **common,
            )
            ckpt_path = (
                resolve_resume(engine.resume, checkpoint_dir(out_dir))
                if engine.resume is not None
                else None
            )
        started = time.perf_counter()
        trainer.fit(module, loader, ckpt_path=ckpt_path)
    model.eval()
    return FitResult(
        steps=int(trainer.global_step),
        train_time_s=time.perf_counter() - started,
        epoch_losses=list(module.epoch_losses),
    )
