"""Train a vision method with :class:`cl_core.training.ContrastiveModule` and the kernel's trainer.

Flow of a step: a batch of images -> V random views (:class:`cl_vision.views.ViewAugmentation`,
seeded per step) -> encoder (:mod:`cl_vision.encoders`) -> projection head
(:class:`cl_core.heads.ProjectionMLP`, or AMCL's :class:`cl_core.heads.MultiHeadProjector`) -> the
method's loss (:mod:`cl_vision.methods`). Lightning runs the loop, with atomic checkpoints and a
progress bar (:func:`cl_core.training.make_trainer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from cl_core.heads import MultiHeadProjector, ProjectionMLP
from cl_core.training import ContrastiveModule, resumable_loader
from cl_vision.data import ImageSplit
from cl_vision.encoders import build_encoder
from cl_vision.fitting import fit_timed
from cl_vision.methods import LossSetup, method_spec
from cl_vision.run_settings import check_counts
from cl_vision.views import ViewAugmentation

PROJECTION_DIM = 64


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (``None`` fields take the method's defaults).

    Attributes:
        method: a name of :data:`cl_vision.methods.METHODS`.
        epochs: training epochs.
        batch_size: images per step.
        lr: peak AdamW learning rate (warm-up + cosine schedule).
        num_views: views per image V.
        temperature: softmax temperature.
        encoder: ``"resnet"`` or ``"efficientnet-lite0"``.
        queue_size: NNCLR support-set size.
        top_k: hardest negatives kept (AMCL, hard-negative InfoNCE).
        seed: seed of weights, data order and views.
    """

    method: str = "simclr"
    epochs: int = 10
    batch_size: int = 256
    lr: float = 2e-3
    num_views: int | None = None
    temperature: float | None = None
    encoder: str = "resnet"
    queue_size: int = 4096
    top_k: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        spec = method_spec(self.method)
        check_counts(self, ("epochs", "batch_size", "queue_size", "top_k"))
        if self.num_views is not None and self.num_views < 2:
            raise ValueError(f"num_views must be >= 2, got {self.num_views}")
        if self.temperature is not None and spec.temperature is None:
            raise ValueError(
                f"method {self.method!r} sets its own temperature; got temperature="
                f"{self.temperature}"
            )
        if self.temperature is not None and not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    @property
    def views(self) -> int:
        """V actually used."""
        return self.num_views or method_spec(self.method).num_views

    @property
    def tau(self) -> float | None:
        """Temperature actually used."""
        return self.temperature or method_spec(self.method).temperature


def build_module(
    config: TrainConfig,
    image_shape: Sequence[int],
    num_classes: int,
    augmentation: ViewAugmentation,
    *,
    pretrained: bool = True,
) -> ContrastiveModule:
    """A seeded :class:`ContrastiveModule` for ``config`` (encoder, head, views, loss).

    Args:
        config: the run settings.
        image_shape: ``(C, H, W)`` of the images.
        num_classes: classes of the labels (Hydra's gate).
        augmentation: the view pipeline.
        pretrained: load pretrained EfficientNet-Lite0 weights when that encoder is chosen.
    """
    spec = method_spec(config.method)
    torch.manual_seed(config.seed)
    encoder = build_encoder(config.encoder, image_shape, pretrained=pretrained)
    width = encoder.feature_dim
    if spec.num_heads > 1:
        head: torch.nn.Module = MultiHeadProjector(
            width, PROJECTION_DIM, num_heads=spec.num_heads, hidden_dim=width
        )
    else:
        head = ProjectionMLP(width, PROJECTION_DIM, hidden_dim=width, num_layers=2)
    loss = spec.make_loss(LossSetup(PROJECTION_DIM, num_classes, config.queue_size, config.top_k))
    num_views = config.views

    def views(batch: Sequence[Tensor], generator: torch.Generator) -> list[Tensor]:
        return augmentation.views(batch[0], generator, num_views)

    def labels(batch: Sequence[Tensor]) -> dict[str, Tensor]:
        return {"labels": batch[1]}

    return ContrastiveModule(
        encoder,
        loss,
        head=head,
        views_fn=views,
        loss_kwargs=labels if spec.needs_labels else None,
        temperature=config.tau,
        lr=config.lr,
        seed=config.seed,
    )


@dataclass
class TrainingRun:
    """A trained module with its wall time and the images it processed."""

    module: ContrastiveModule
    train_time_s: float
    samples_seen: int


def train(
    config: TrainConfig,
    split: ImageSplit,
    out_dir: str | Path,
    augmentation: ViewAugmentation,
    *,
    resume: str | None = None,
    callbacks: Sequence[Any] = (),
    **trainer_options: Any,
) -> TrainingRun:
    """Train ``config.method`` on ``split.train_x``.

    Args:
        config: the run settings.
        split: the data (labels are used by Hydra only, and by the probes afterwards).
        out_dir: run folder (logs, ``checkpoints/last.ckpt``).
        augmentation: the view pipeline.
        resume: ``None``, ``"last"`` or a checkpoint path.
        callbacks: extra Lightning callbacks.
        **trainer_options: more :func:`cl_core.training.make_trainer` arguments (e.g.
            ``progress_bar=False``).

    Raises:
        ValueError: ``batch_size`` exceeds the training images.
    """
    if config.batch_size > len(split.train_x):
        raise ValueError(
            f"batch_size must be <= the {len(split.train_x)} training images, "
            f"got {config.batch_size}"
        )
    module = build_module(config, split.image_shape, split.num_classes, augmentation)
    loader = resumable_loader(
        TensorDataset(split.train_x, split.train_y), config.batch_size, seed=config.seed
    )
    fit = fit_timed(
        module,
        loader,
        out_dir,
        epochs=config.epochs,
        seed=config.seed,
        resume=resume,
        callbacks=callbacks,
        **trainer_options,
    )
    return TrainingRun(module, fit.train_time_s, fit.global_step * config.batch_size)
