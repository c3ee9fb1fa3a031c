"""Training two-tower models (CLIP and the recipes built on it) with the kernel's engine.

Each step draws a batch of image-caption pairs, optionally augments both sides (the improved-
baselines recipe, arXiv:2305.08675), and minimises an objective (default: the CLIP loss) with AdamW
and a per-step cosine learning-rate schedule. :func:`cl_core.training.fit_objective` runs the
steps (devices, data-parallel processes, mixed precision, checkpoints and resume); the batch
order is drawn from the recipe's own seeded stream (:class:`cl_core.training.replay.ReplayBatches`),
the one its augmentation and objectives draw from, so one process gives the numbers of the plain
loop this replaced. With several processes the CLIP loss gathers the other modality of every
process (one global batch; ``local_negatives`` opts out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from cl_core.engine_options import DEFAULT_ENGINE, EngineOptions
from cl_multimodal.augment import augment_captions, random_resized_crop
from cl_multimodal.data.pairs import ImageCaptionPairs
from cl_multimodal.two_tower import TwoTowerModel

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import Callback

#: ``objective(model, images, captions, batch_index, rng) -> scalar loss``.
Objective = Callable[[TwoTowerModel, Tensor, list[str], np.ndarray, np.random.Generator], Tensor]


@dataclass(frozen=True)
class ClipTrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: passes over the training pairs.
        batch_size: pairs per step (the last incomplete batch is dropped; at least one step).
        lr: peak AdamW learning rate (cosine decay to 0 over all steps).
        weight_decay: AdamW weight decay.
        image_augment: per-image random resized crops.
        text_augment: EDA-style word deletion and swaps.
        seed: randomness of batches, augmentation and objectives.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    image_augment: bool = False
    text_augment: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(
                f"epochs must be >= 1 and batch_size >= 2, got {self.epochs}, {self.batch_size}"
            )
        if not self.lr > 0 or self.weight_decay < 0:
            raise ValueError(
                f"lr must be > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}"
            )


@dataclass
class TrainStats:
    """What a training run measured."""

    train_time_s: float
    samples_per_s: float
    steps: int
    epoch_losses: list[float] = field(default_factory=list)


def clip_objective(
    model: TwoTowerModel,
    images: Tensor,
    captions: list[str],
    batch_index: np.ndarray,
    rng: np.random.Generator,
) -> Tensor:
    """The plain CLIP loss of the batch."""
    return model.loss(images, captions)


def train_two_tower(
    model: TwoTowerModel,
    pairs: ImageCaptionPairs,
    config: ClipTrainConfig,
    *,
    objective: Objective = clip_objective,
    progress: bool = False,
    engine: EngineOptions = DEFAULT_ENGINE,
    out_dir: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainStats:
    """Train ``model`` on ``pairs`` with the kernel's engine.

    Args:
        model: the two-tower model (trained in place; on the CPU, in eval mode, afterwards).
        pairs: training pairs.
        config: optimisation settings.
        objective: the loss of one batch (default :func:`clip_objective`).
        progress: show a progress bar.
        engine: devices, processes, precision, negatives, checkpoints and resume; its seed seeds
            the fit, ``config.seed`` the batches, augmentation and objectives.
        out_dir: run folder for logs and checkpoints (``--resume`` continues from them);
            ``None``: a bare trainer that writes nothing (benchmark rows).
        callbacks: extra Lightning callbacks.

    Returns:
        Timing and per-epoch mean losses (of this process's batches).
    """
    from cl_core.training import fit_objective, gather_negatives
    from cl_core.training.random_state import KeepRandomState
    from cl_core.training.replay import ReplayBatches

    if len(pairs) < 2:
        raise ValueError(f"pairs must hold at least 2 pairs, got {len(pairs)}")
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    batches = ReplayBatches(
        len(pairs),
        min(config.batch_size, len(pairs)),
        lambda: rng.permutation(len(pairs)),
        generators=(rng, generator),
    )

    def step(model: TwoTowerModel, batch: Tensor) -> Tensor:
        index = batch.cpu().numpy()
        images = pairs.float_images(index)
        captions = [pairs.captions[i] for i in index]
        if config.image_augment:
            images = random_resized_crop(images, generator)
        if config.text_augment:
            captions = augment_captions(captions, rng)
        model.gather = gather_negatives(engine.local_negatives)
        return objective(model, images.to(batch.device), captions, index, rng)

    model.train()
    result = fit_objective(
        model,
        step,
        batches,
        epochs=config.epochs,
        lr=config.lr,
        weight_decay=config.weight_decay,
        schedule="cosine",
        engine=engine,
        out_dir=out_dir,
        progress=progress,
        callbacks=[batches.tracker(), KeepRandomState(), *callbacks],
    )
    return TrainStats(
        train_time_s=result.train_time_s,
        samples_per_s=result.steps * batches.batch_size / max(result.train_time_s, 1e-9),
        steps=result.steps,
        epoch_losses=result.epoch_losses,
    )
