"""PixPro training on small images, with a dense probe next to the usual image-level probe.

PixPro (Xie et al., "Propagate Yourself", CVPR 2021, arXiv:2011.10043): two crops with known
geometry, an online encoder whose projected feature map goes through the pixel-propagation module,
a momentum key encoder (m = 1 - (1 - 0.99)(cos(pi k / K) + 1) / 2), and the pixel-to-propagation
consistency loss (:mod:`cl_vision.losses.pixpro`) in both view orders. Baseline in the same run:
SimCLR (NT-Xent on pooled projections of the same two crops) on the same encoder.

Evaluation on frozen backbones: the image-level linear probe (item class) on pooled features, and a
dense probe - logistic regression from each feature-map cell's vector to whether the item covers
that cell (more than half its pixels non-zero; a real label: Fashion-MNIST has a black background).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.evaluation import linear_probe_accuracy
from cl_core.losses import nt_xent
from cl_vision.data import ImageSplit
from cl_vision.encoders import SmallResNet
from cl_vision.losses.pixpro import (
    PixelPropagation,
    crop_views,
    pixel_consistency_loss,
    pixpro_positive_mask,
    random_crop_boxes,
)

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
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("epochs", "batch_size", "projection_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
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


def train_dense_encoder(split: ImageSplit, config: PixProConfig) -> SmallResNet:
    """Train a :class:`SmallResNet` with PixPro or SimCLR on ``split.train_x``; return it (eval)."""
    torch.manual_seed(config.seed)
    backbone = SmallResNet(split.image_shape[0], stem_stride=2)
    projector = DenseProjector(backbone.feature_dim, config.projection_dim)
    propagation = PixelPropagation(config.projection_dim, gamma=config.gamma)
    online = nn.ModuleList([backbone, projector, propagation])
    key_backbone, key_projector = copy.deepcopy(backbone), copy.deepcopy(projector)
    for parameter in [*key_backbone.parameters(), *key_projector.parameters()]:
        parameter.requires_grad_(False)
    optimizer = torch.optim.Adam(online.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    images = split.train_x
    steps_per_epoch = images.shape[0] // config.batch_size
    total, step = steps_per_epoch * config.epochs, 0
    online.train()
    for _ in range(config.epochs):
        order = torch.from_numpy(rng.permutation(images.shape[0]))
        for k in range(steps_per_epoch):
            batch = images[order[k * config.batch_size : (k + 1) * config.batch_size]]
            boxes_a = random_crop_boxes(batch.shape[0], generator)
            boxes_b = random_crop_boxes(batch.shape[0], generator)
            view_a, view_b = crop_views(batch, boxes_a), crop_views(batch, boxes_b)
            maps_a = projector(backbone.feature_map(view_a))
            maps_b = projector(backbone.feature_map(view_b))
            if config.method == "simclr":
                loss = nt_xent(maps_a.mean(dim=(2, 3)), maps_b.mean(dim=(2, 3)), temperature=0.2)
            else:
                with torch.no_grad():
                    key_a = key_projector(key_backbone.feature_map(view_a))
                    key_b = key_projector(key_backbone.feature_map(view_b))
                size = tuple(maps_a.shape[-2:])
                mask_ab = pixpro_positive_mask(boxes_a, boxes_b, size, threshold=config.threshold)
                loss = pixel_consistency_loss(propagation(maps_a), key_b, mask_ab)
                loss = loss + pixel_consistency_loss(
                    propagation(maps_b), key_a, mask_ab.transpose(1, 2)
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if config.method == "pixpro":
                momentum = momentum_at(step, total, config.base_momentum)
                with torch.no_grad():
                    for online_module, key_module in (
                        (backbone, key_backbone),
                        (projector, key_projector),
                    ):
                        for p, q in zip(
                            online_module.parameters(), key_module.parameters(), strict=True
                        ):
                            q.mul_(momentum).add_(p.detach(), alpha=1 - momentum)
    return backbone.eval()


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


def dense_scores(
    backbone: SmallResNet, split: ImageSplit, max_cells: int = 20000
) -> dict[str, float]:
    """Image-level linear probe (item class, pooled features) and the dense foreground probe."""
    train_maps, test_maps = _maps(backbone, split.train_x), _maps(backbone, split.test_x)
    size = tuple(train_maps.shape[-2:])
    image_acc = linear_probe_accuracy(
        train_maps.mean(dim=(2, 3)), split.train_y, test_maps.mean(dim=(2, 3)), split.test_y
    )

    def cells(maps: Tensor, images: Tensor) -> tuple[Tensor, Tensor]:
        vectors = maps.permute(0, 2, 3, 1).reshape(-1, maps.shape[1])
        labels = cell_foreground(images, size).reshape(-1)
        return vectors[:max_cells], labels[:max_cells]

    train_x, train_y = cells(train_maps, split.train_x)
    test_x, test_y = cells(test_maps, split.test_x)
    return {
        "linear_acc": image_acc,
        "dense_foreground_acc": linear_probe_accuracy(train_x, train_y, test_x, test_y),
        "dense_foreground_rate": float(test_y.float().mean()),
    }
