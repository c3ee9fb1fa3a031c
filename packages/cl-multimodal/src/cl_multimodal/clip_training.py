"""A plain PyTorch training loop for two-tower models (CLIP and the recipes built on it).

Each step draws a batch of image-caption pairs, optionally augments both sides (the improved-
baselines recipe, arXiv:2305.08675), and minimises an objective (default: the CLIP loss) with AdamW
and a per-step cosine learning-rate schedule. Lightning is not used here: the loop is a few lines,
and every bench row trains several small models, for which Lightning's start-up would dominate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cl_multimodal.augment import augment_captions, random_resized_crop
from cl_multimodal.data.pairs import ImageCaptionPairs
from cl_multimodal.two_tower import TwoTowerModel

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
    state: dict[str, Any] | None = None,
    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainStats:
    """Train ``model`` on ``pairs``.

    Args:
        model: the two-tower model (trained in place).
        pairs: training pairs.
        config: optimisation settings.
        objective: the loss of one batch (default :func:`clip_objective`).
        progress: show a tqdm progress bar.
        state: a state from ``on_epoch_end`` to resume from (epoch granularity).
        on_epoch_end: called with the finished epoch (1-based) and a resumable state dict whose
            tensors are the live ones: save (``torch.save``) or deep-copy it before returning.

    Returns:
        Timing and per-epoch mean losses.
    """
    from tqdm.auto import tqdm

    if len(pairs) < 2:
        raise ValueError(f"pairs must hold at least 2 pairs, got {len(pairs)}")
    batch_size = min(config.batch_size, len(pairs))
    steps_per_epoch = max(1, len(pairs) // batch_size)
    total_steps = steps_per_epoch * config.epochs
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + np.cos(np.pi * min(step, total_steps) / total_steps))
    )
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        rng.bit_generator.state = state["rng"]
        generator.set_state(state["generator"])
        start_epoch = state["epoch"]
    stats = TrainStats(0.0, 0.0, 0)
    started = time.perf_counter()
    model.train()
    bar = tqdm(
        total=total_steps, initial=start_epoch * steps_per_epoch, disable=not progress, desc="train"
    )
    for epoch in range(start_epoch, config.epochs):
        order = rng.permutation(len(pairs))
        losses = []
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            images = pairs.float_images(index)
            captions = [pairs.captions[i] for i in index]
            if config.image_augment:
                images = random_resized_crop(images, generator)
            if config.text_augment:
                captions = augment_captions(captions, rng)
            loss = objective(model, images, captions, index, rng)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.detach().item())
            stats.steps += 1
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        stats.epoch_losses.append(float(np.mean(losses)))
        if on_epoch_end is not None:
            on_epoch_end(
                epoch + 1,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "rng": rng.bit_generator.state,
                    "generator": generator.get_state(),
                    "epoch": epoch + 1,
                },
            )
    bar.close()
    stats.train_time_s = time.perf_counter() - started
    stats.samples_per_s = stats.steps * batch_size / max(stats.train_time_s, 1e-9)
    model.eval()
    return stats
