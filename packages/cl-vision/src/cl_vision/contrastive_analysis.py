"""Background / target image pairs for contrastive analysis (SepCLR), built from real images.

Background images are Fashion-MNIST items; target images are other Fashion-MNIST items with a
scikit-learn handwritten digit (8x8, upscaled to 14x14) pasted over the centre (it replaces the
item's pixels there, so it stays visible on bright items and survives the random crops).
The *salient* attribute is the digit class, present only in target images; the *common* attribute
is the item class, present in both. Both image sources are real; the combination is made here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cl_vision.data import load_fashion_mnist_split

DIGIT_SIDE = 14

CARD = (
    "Real images combined here: background = Fashion-MNIST items (Debian dataset-fashion-mnist); "
    "target = other Fashion-MNIST items with a scikit-learn handwritten digit (8x8, upscaled to "
    "14x14) pasted over the centre. Salient attribute: the digit class (targets only); common "
    "attribute: the item class. Digits are split 70/30 between train and test images."
)


@dataclass(frozen=True)
class AnalysisSplit:
    """One split of contrastive-analysis data.

    Attributes:
        images: ``(N, 1, 28, 28)`` float32 in [0, 1], background and target rows mixed.
        is_target: ``(N,)`` bool, True where a digit was pasted.
        item: ``(N,)`` int64 Fashion-MNIST class (the common attribute).
        digit: ``(N,)`` int64 digit class, -1 on background rows (the salient attribute).
    """

    images: Tensor
    is_target: Tensor
    item: Tensor
    digit: Tensor


@dataclass(frozen=True)
class ContrastiveAnalysisData:
    """Train and test splits plus the data card."""

    train: AnalysisSplit
    test: AnalysisSplit
    card: str = CARD


def paste_digits(items: Tensor, digits: Tensor) -> Tensor:
    """Items with a digit pasted over the centre 14x14 window (the digit replaces those pixels).

    Args:
        items: ``(N, 1, 28, 28)`` float images in [0, 1].
        digits: ``(N, 1, 8, 8)`` float digit images in [0, 1].

    Returns:
        ``(N, 1, 28, 28)`` images.
    """
    if items.dim() != 4 or items.shape[1:] != (1, 28, 28):
        raise ValueError(f"items must have shape (N, 1, 28, 28), got {tuple(items.shape)}")
    if digits.shape != (items.shape[0], 1, 8, 8):
        raise ValueError(
            f"digits must have shape ({items.shape[0]}, 1, 8, 8), got {tuple(digits.shape)}"
        )
    large = F.interpolate(digits, size=(DIGIT_SIDE, DIGIT_SIDE), mode="bilinear")
    start = (28 - DIGIT_SIDE) // 2
    out = items.clone()
    out[:, :, start : start + DIGIT_SIDE, start : start + DIGIT_SIDE] = large.clamp(0.0, 1.0)
    return out


def _split(
    items: Tensor, item_labels: Tensor, digits: Tensor, digit_labels: Tensor, seed: int
) -> AnalysisSplit:
    """Half the items become targets, each with a digit drawn (with replacement) from ``digits``."""
    rng = np.random.default_rng(seed)
    count = items.shape[0]
    is_target = torch.zeros(count, dtype=torch.bool)
    is_target[torch.from_numpy(rng.permutation(count)[: count // 2])] = True
    chosen = torch.from_numpy(rng.integers(0, digits.shape[0], size=int(is_target.sum())))
    images = items.clone()
    images[is_target] = paste_digits(items[is_target], digits[chosen])
    digit = torch.full((count,), -1, dtype=torch.long)
    digit[is_target] = digit_labels[chosen]
    return AnalysisSplit(images, is_target, item_labels.clone(), digit)


def load_contrastive_analysis(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    train_limit: int = 4000,
    test_limit: int = 2000,
    seed: int = 0,
) -> ContrastiveAnalysisData:
    """Fashion-MNIST items with and without a pasted digit (see the module docstring).

    Args:
        data_dir: Fashion-MNIST folder (default: the Debian location).
        train_limit: class-balanced training items (half become targets).
        test_limit: class-balanced test items (half become targets).
        seed: seed of the subsets, the target choice and the digit draws.
    """
    from sklearn.datasets import load_digits

    fashion = load_fashion_mnist_split(
        data_dir, train_limit=train_limit, test_limit=test_limit, seed=seed
    )
    digits = load_digits()
    digit_images = torch.from_numpy(digits.images / 16.0).float().unsqueeze(1)
    digit_labels = torch.from_numpy(digits.target).long()
    order = np.random.default_rng(seed).permutation(len(digit_labels))
    cut = int(0.7 * len(order))
    train_digits, test_digits = torch.from_numpy(order[:cut]), torch.from_numpy(order[cut:])
    train = _split(
        fashion.train_x,
        fashion.train_y,
        digit_images[train_digits],
        digit_labels[train_digits],
        seed,
    )
    test = _split(
        fashion.test_x,
        fashion.test_y,
        digit_images[test_digits],
        digit_labels[test_digits],
        seed + 1,
    )
    return ContrastiveAnalysisData(train, test)
