"""PixPro training on small images, with a dense probe next to the usual image-level probe.

PixPro (Xie et al., "Propagate Yourself", CVPR 2021, arXiv:2011.10043): two crops with known
geometry, an online encoder whose projected feature map goes through the pixel-propagation module,
a momentum key encoder (m = 1 - (1 - 0.99)(cos(pi k / K) + 1) / 2), and the pixel-to-propagation
consistency loss (:mod:`cl_vision.losses.pixpro`) in both view orders. Baseline in the same run:
SimCLR (NT-Xent on pooled projections of the same two crops) on the same encoder.

Training runs on :func:`cl_core.training.make_trainer` (progress bar, atomic checkpoints,
``resume="last"``), the same engine as the other vision methods.

Evaluation on frozen backbones: the image-level linear probe (item class) on pooled features, and a
dense probe - logistic regression from each feature-map cell's vector to whether the item covers
that cell (more than half its pixels non-zero; a real label: Fashion-MNIST has a black background).
Both probes choose their ``C`` by stratified CV on training rows only
(:func:`cl_core.evaluation.subsampled_cv_linear_probe`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from cl_core.evaluation import FALLBACK_C, subsampled_cv_linear_probe
from cl_core.losses import nt_xent
from cl_core.training import resumable_loader, step_generator
from cl_core.training.engine import gather_negatives, trainer_wants_local_negatives
from cl_vision.data import ImageSplit
from cl_vision.encoders import SmallResNet
from cl_vision.fitting import fit_timed
from cl_vision.losses.pixpro import (
    PixelPropagation,
    crop_views,
    pixel_consistency_loss,
    pixpro_positive_mask,
    random_crop_boxes,
)
from cl_vision.run_settings import check_counts, check_method

METHODS = ("pixpro", "simclr")


@dataclass(frozen=True)
class PixProConfig:
    """Settings of one run (PixPro defaults from the paper: T = 0.7, gamma = 2, m from 0.99).

    Attributes:
        method: ``"pixpro"`` or the ``"simclr"`` baseline.
        epochs: passes over the training images.
        batch_size: images per step.
        lr: Adam learning rate.
        projection_dim: channels of the projected feature map.
        threshold: positive-pair distance threshold T.
        gamma: propagation sharpness.
        base_momentum: momentum at the first step.
        seed: seed of weights, data order and crops.
    """

    method: str = "pixpro"
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    projection_dim: int = 64
    threshold: float = 0.7
    gamma: float = 2.0
    base_momentum: float = 0.99
    seed: int = 0

    def __post_init__(self) -> None:
        check_method(self.method, METHODS)
        check_counts(self, ("epochs", "batch_size", "projection_dim"))
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.base_momentum < 1:
            raise ValueError(f"base_momentum must be in [0, 1), got {self.base_momentum}")


class DenseProjector(nn.Module):
    """PixPro's MLP2d: 1x1 conv -> BatchNorm -> ReLU -> 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 2 * in_channels, 1),
            nn.BatchNorm2d(2 * in_channels),
            nn.ReLU(),
            nn.Conv2d(2 * in_channels, out_channels, 1),
        )

    def forward(self, maps: Tensor) -> Tensor:
        return self.net(maps)


def momentum_at(step: int, total: int, base: float) -> float:
    """PixPro's cosine momentum schedule: ``1 - (1 - base)(cos(pi step / total) + 1) / 2``."""
    return 1 - (1 - base) * (math.cos(math.pi * step / max(total, 1)) + 1) / 2


def dense_backbone(image_shape: tuple[int, int, int]) -> SmallResNet:
    """The PixPro backbone for ``(C, H, W)`` images: a stride-2 stem from 16 pixels up (28x28 gives
    a 4x4 map), a stride-1 stem below (8x8 digits give a 2x2 map)."""
    channels, height, width = image_shape
    return SmallResNet(channels, stem_stride=2 if min(height, width) >= 16 else 1)


class PixProModule(pl.LightningModule):
    """PixPro (or the SimCLR baseline on the same crops) as a Lightning module.

    Each step draws two crop boxes per image from a generator seeded by ``(seed, step, rank)``
    (identical after a resume); the key encoder follows the online one with PixPro's cosine
    momentum schedule after every optimizer step.

    Args:
        image_shape: ``(C, H, W)`` of the training images.
        config: the run settings.
    """

    def __init__(self, image_shape: tuple[int, int, int], config: PixProConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = dense_backbone(image_shape)
        self.projector = DenseProjector(self.backbone.feature_dim, config.projection_dim)
        self.propagation = PixelPropagation(config.projection_dim, gamma=config.gamma)
        self.key_backbone = copy.deepcopy(self.backbone)
        self.key_projector = copy.deepcopy(self.projector)
        for parameter in [*self.key_backbone.parameters(), *self.key_projector.parameters()]:
            parameter.requires_grad_(False)

    def training_step(self, batch: Sequence[Tensor], batch_idx: int) -> Tensor:
        images = batch[0]
        generator = step_generator(self.config.seed, self.global_step, self.global_rank)
        boxes_a = random_crop_boxes(images.shape[0], generator).to(images.device)
        boxes_b = random_crop_boxes(images.shape[0], generator).to(images.device)
        view_a, view_b = crop_views(images, boxes_a), crop_views(images, boxes_b)
        maps_a = self.projector(self.backbone.feature_map(view_a))
        maps_b = self.projector(self.backbone.feature_map(view_b))
        if self.config.method == "simclr":
            loss = nt_xent(
                maps_a.mean(dim=(2, 3)),
                maps_b.mean(dim=(2, 3)),
                temperature=0.2,
                gather=gather_negatives(trainer_wants_local_negatives(self._trainer)),
            )
        else:
            with torch.no_grad():
                key_a = self.key_projector(self.key_backbone.feature_map(view_a))
                key_b = self.key_projector(self.key_backbone.feature_map(view_b))
            size = tuple(maps_a.shape[-2:])
            mask_ab = pixpro_positive_mask(boxes_a, boxes_b, size, threshold=self.config.threshold)
            loss = pixel_consistency_loss(self.propagation(maps_a), key_b, mask_ab)
            loss = loss + pixel_consistency_loss(
                self.propagation(maps_b), key_a, mask_ab.transpose(1, 2)
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=images.shape[0])
        return loss

    @torch.no_grad()
    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.config.method != "pixpro":
            return
        total = int(self.trainer.estimated_stepping_batches)
        momentum = momentum_at(self.global_step, total, self.config.base_momentum)
        pairs = ((self.backbone, self.key_backbone), (self.projector, self.key_projector))
        for online, key in pairs:
            for p, q in zip(online.parameters(), key.parameters(), strict=True):
                q.mul_(momentum).add_(p.detach(), alpha=1 - momentum)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        online = [*self.backbone.parameters(), *self.projector.parameters()]
        return torch.optim.Adam([*online, *self.propagation.parameters()], lr=self.config.lr)


@dataclass
class DenseRun:
    """The trained backbone (eval mode), the training wall time and the images processed."""

    backbone: SmallResNet
    train_time_s: float
    samples_seen: int


def train_dense_encoder(
    split: ImageSplit,
    config: PixProConfig,
    out_dir: str | Path,
    *,
    resume: str | None = None,
    callbacks: Sequence[Any] = (),
    **trainer_options: Any,
) -> DenseRun:
    """Train a :class:`SmallResNet` with PixPro or SimCLR on ``split.train_x``.

    Args:
        split: the images (labels are not used).
        config: the run settings.
        out_dir: run folder (logs, ``checkpoints/last.ckpt``).
        resume: ``None``, ``"last"`` or a checkpoint path.
        callbacks: extra Lightning callbacks.
        **trainer_options: more :func:`cl_core.training.make_trainer` arguments (e.g.
            ``progress_bar=False``).

    Raises:
        ValueError: ``config.batch_size`` exceeds the training images.
    """
    if config.batch_size > len(split.train_x):
        raise ValueError(
            f"batch_size must be <= the {len(split.train_x)} training images, "
            f"got {config.batch_size}"
        )
    torch.manual_seed(config.seed)
    module = PixProModule(split.image_shape, config)
    loader = resumable_loader(TensorDataset(split.train_x), config.batch_size, seed=config.seed)
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
    return DenseRun(module.backbone.eval(), fit.train_time_s, fit.global_step * config.batch_size)


@torch.no_grad()
def _maps(backbone: SmallResNet, images: Tensor, batch_size: int = 512) -> Tensor:
    backbone.eval()
    return torch.cat(
        [
            backbone.feature_map(images[i : i + batch_size])
            for i in range(0, len(images), batch_size)
        ]
    )


def cell_foreground(images: Tensor, map_size: tuple[int, int]) -> Tensor:
    """Per feature-map cell: 1 if more than half of its pixels are non-zero (the item), else 0."""
    covered = F.adaptive_avg_pool2d((images > 0).float(), map_size)
    return (covered.squeeze(1) > 0.5).long()


def _foreground_probe(
    train_maps: Tensor, test_maps: Tensor, split: ImageSplit, max_cells: int
) -> dict[str, float]:
    """The dense foreground probe on precomputed feature maps."""
    if not isinstance(max_cells, int) or isinstance(max_cells, bool) or max_cells < 1:
        raise ValueError(f"max_cells must be an int >= 1, got {max_cells!r}")
    size = tuple(train_maps.shape[-2:])

    def cells(maps: Tensor, images: Tensor) -> tuple[Tensor, Tensor]:
        vectors = maps.permute(0, 2, 3, 1).reshape(-1, maps.shape[1])
        labels = cell_foreground(images, size).reshape(-1)
        return vectors[:max_cells], labels[:max_cells]

    train_x, train_y = cells(train_maps, split.train_x)
    test_x, test_y = cells(test_maps, split.test_x)
    probe = subsampled_cv_linear_probe(train_x, train_y, test_x, test_y, fallback_c=FALLBACK_C)
    return {
        "dense_foreground_acc": probe.accuracy,
        "dense_foreground_c": probe.c,
        "dense_foreground_rate": float(test_y.float().mean()),
    }


def dense_foreground_scores(
    backbone: SmallResNet, split: ImageSplit, max_cells: int = 20000
) -> dict[str, float]:
    """The dense foreground probe: logistic regression from each feature-map cell's vector to
    whether the item covers that cell (:func:`cell_foreground`).

    ``C`` is chosen by stratified CV on at most :data:`cl_core.evaluation.CV_SUBSAMPLE` training
    cells only, then the probe is refitted on all training cells
    (:func:`cl_core.evaluation.subsampled_cv_linear_probe`).

    Args:
        backbone: the frozen backbone.
        split: the images (their pixels give the cell labels; ``train_y``/``test_y`` are unused).
        max_cells: cells each side of the probe uses at most (the first images' cells).

    Returns:
        ``dense_foreground_acc``, its ``dense_foreground_c`` and ``dense_foreground_rate`` (the
        share of foreground test cells, i.e. the majority-class baseline's complement).

    Raises:
        ValueError: ``max_cells`` is not an int >= 1.
    """
    return _foreground_probe(
        _maps(backbone, split.train_x), _maps(backbone, split.test_x), split, max_cells
    )


def dense_scores(
    backbone: SmallResNet, split: ImageSplit, max_cells: int = 20000
) -> dict[str, float]:
    """Image-level linear probe (item class, pooled features) and the dense foreground probe.

    Both choose ``C`` on training rows only (:func:`cl_core.evaluation.subsampled_cv_linear_probe`).

    Args:
        backbone: the frozen backbone.
        split: labelled images.
        max_cells: cells each side of the dense probe uses at most.

    Returns:
        ``linear_acc`` and its ``linear_c``, plus :func:`dense_foreground_scores`.
    """
    train_maps, test_maps = _maps(backbone, split.train_x), _maps(backbone, split.test_x)
    image = subsampled_cv_linear_probe(
        train_maps.mean(dim=(2, 3)),
        split.train_y,
        test_maps.mean(dim=(2, 3)),
        split.test_y,
        fallback_c=FALLBACK_C,
    )
    return {
        "linear_acc": image.accuracy,
        "linear_c": image.c,
        **_foreground_probe(train_maps, test_maps, split, max_cells),
    }
