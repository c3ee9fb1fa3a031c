"""Train SimCLR, DCL or SupCon on a feature split with a small MLP encoder.

- SimCLR / NT-Xent: Chen et al., "A Simple Framework for Contrastive Learning of Visual
  Representations" (2020, arXiv:2002.05709).
- DCL: Yeh et al., "Decoupled Contrastive Learning" (2021, arXiv:2110.06848).
- SupCon: Khosla et al., "Supervised Contrastive Learning" (2020, arXiv:2004.11362).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from cl_core.heads import ProjectionMLP
from cl_core.losses import dcl, nt_xent, supcon
from cl_core.recipes.digits_data import FeatureSplit, augment_features
from cl_core.training import ContrastiveModule, make_trainer, resolve_resume, resumable_loader
from cl_core.training.cpu_sync_batchnorm import convert_cpu_sync_batchnorm
from cl_core.training.trainer import checkpoint_dir

METHODS = ("simclr", "dcl", "supcon")


def supcon_two_views(
    z1: Tensor, z2: Tensor, labels: Tensor, temperature: float | Tensor, gather: bool = False
) -> Tensor:
    """SupCon over the two views ``(B, 2, D)`` of labelled samples.

    ``gather=True`` (data-parallel): the views and labels of every process, one global batch.
    """
    return supcon(torch.stack([z1, z2], dim=1), labels, temperature, gather=gather)


@dataclass(frozen=True)
class MethodSpec:
    """Loss and temperature of a method (temperatures as in each paper's small-scale setting)."""

    loss: Any
    temperature: float
    needs_labels: bool


METHOD_SPECS: dict[str, MethodSpec] = {
    "simclr": MethodSpec(nt_xent, 0.5, needs_labels=False),
    "dcl": MethodSpec(dcl, 0.1, needs_labels=False),
    "supcon": MethodSpec(supcon_two_views, 0.1, needs_labels=True),
}


def mlp_encoder(in_dim: int, width: int = 256, out_dim: int = 128) -> nn.Module:
    """``Linear(in, width) -> BN -> ReLU -> Linear(width, out)``: the core recipes' encoder."""
    return nn.Sequential(
        nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, out_dim)
    )


def build_module(
    method: str, split: FeatureSplit, *, lr: float, seed: int, width: int = 256
) -> ContrastiveModule:
    """A :class:`ContrastiveModule` for ``method`` with a seeded MLP encoder and 2-layer head."""
    if method not in METHOD_SPECS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    spec = METHOD_SPECS[method]
    if spec.needs_labels and bool((split.train_y < 0).any()):
        raise ValueError(f"method {method!r} needs class labels; the training data has none")
    torch.manual_seed(seed)
    encoder = mlp_encoder(split.train_x.shape[1], width)
    head = ProjectionMLP(128, 64, hidden_dim=width, num_layers=2)
    image_shape = split.image_shape

    def views(batch: list[Tensor], generator: torch.Generator) -> list[Tensor]:
        x = batch[0]
        return [augment_features(x, generator, image_shape=image_shape) for _ in range(2)]

    def labels(batch: list[Tensor]) -> dict[str, Tensor]:
        return {"labels": batch[1]}

    return ContrastiveModule(
        encoder,
        spec.loss,
        head=head,
        views_fn=views,
        loss_kwargs=labels if spec.needs_labels else None,
        temperature=spec.temperature,
        lr=lr,
        seed=seed,
    )


@dataclass
class TrainingRun:
    """A trained module and its throughput."""

    module: ContrastiveModule
    train_time_s: float
    samples_seen: int


def train_method(
    method: str,
    split: FeatureSplit,
    out_dir: str | Path,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    resume: str | None = None,
    callbacks: tuple = (),
    **trainer_options: Any,
) -> TrainingRun:
    """Train ``method`` on ``split.train_x`` and return the module with its training time.

    Args:
        method: ``"simclr"``, ``"dcl"`` or ``"supcon"``.
        split: the data (labels are used by SupCon only).
        out_dir: run folder (logs, checkpoints).
        epochs: training epochs.
        batch_size: per-process batch size.
        lr: peak AdamW learning rate.
        seed: seed of weights, order and augmentations.
        resume: ``None``, ``"last"`` or a checkpoint path.
        callbacks: extra Lightning callbacks.
        **trainer_options: more :func:`~cl_core.training.make_trainer` arguments.
    """
    if batch_size > len(split.train_x):
        raise ValueError(
            f"batch_size must be <= the {len(split.train_x)} training rows, got {batch_size}"
        )
    module = build_module(method, split, lr=lr, seed=seed)
    accelerator = trainer_options.get("accelerator", "auto")
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    devices = trainer_options.get("devices", "auto")
    processes = (devices if isinstance(devices, int) and devices > 0 else 1) * trainer_options.get(
        "num_nodes", 1
    )
    if on_cpu and processes > 1:
        # torch's SyncBatchNorm is GPU-only; this one all-reduces the statistics over gloo.
        convert_cpu_sync_batchnorm(module)
    dataset = TensorDataset(split.train_x, split.train_y)
    loader = resumable_loader(dataset, batch_size, seed=seed)
    options: dict[str, Any] = {
        "progress_bar": False,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        **trainer_options,
    }
    # Resolve the checkpoint first: a missing one fails before the trainer exists or logs anything.
    ckpt_path = resolve_resume(resume, checkpoint_dir(out_dir))
    trainer = make_trainer(out_dir, max_epochs=epochs, seed=seed, callbacks=callbacks, **options)
    started = time.perf_counter()
    trainer.fit(module, loader, ckpt_path=ckpt_path)
    elapsed = time.perf_counter() - started
    return TrainingRun(module, elapsed, trainer.global_step * batch_size)
