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
        images: ``(N, C, H, W)`` float32 in [0, 1] (``(N, 1, 28, 28)`` for the built-in data),
            background and target rows mixed.
        is_target: ``(N,)`` bool, True on target rows (where a digit was pasted).
        item: ``(N,)`` int64 common-attribute class (the Fashion-MNIST item; -1 where unknown,
            as for user folders).
        digit: ``(N,)`` int64 salient-attribute class (the pasted digit, or the sub-folder of a
            user's target image), -1 on background rows.
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


def load_analysis_folders(
    background: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    image_size: int = 32,
    seed: int = 0,
) -> ContrastiveAnalysisData:
    """A user's background and target images, each folder in ImageFolder layout.

    Each folder is split 80/20 per sub-folder (:func:`cl_vision.data.load_image_folder_split`).
    The target folder's sub-folders are the salient attribute (``digit``); the background's only
    group images. The common attribute is unknown (``item`` = -1).

    Args:
        background: folder of background images (``background/<group>/<image>``).
        target: folder of target images (``target/<salient class>/<image>``).
        image_size: side of the square the images are resized to.
        seed: seed of the splits.

    Raises:
        FileNotFoundError: a folder is missing or holds no images.
        ValueError: an image cannot be read, or a sub-folder has fewer than two images.
    """
    from cl_vision.data import load_image_folder_split

    parts = [
        load_image_folder_split(folder, image_size=image_size, seed=seed)
        for folder in (target, background)
    ]
    target_split, background_split = parts

    def combined(target_x: Tensor, target_y: Tensor, background_x: Tensor) -> AnalysisSplit:
        count = len(target_x) + len(background_x)
        is_target = torch.arange(count) < len(target_x)
        digit = torch.full((count,), -1, dtype=torch.long)
        digit[is_target] = target_y
        item = torch.full((count,), -1, dtype=torch.long)
        return AnalysisSplit(torch.cat([target_x, background_x]), is_target, item, digit)

    card = (
        f"User images: target {target} ({len(target_split.classes)} salient classes: "
        f"{', '.join(target_split.classes)}), background {background}; ImageFolder layout, "
        f"resized to {image_size}x{image_size}, 80/20 split per sub-folder."
    )
    return ContrastiveAnalysisData(
        combined(target_split.train_x, target_split.train_y, background_split.train_x),
        combined(target_split.test_x, target_split.test_y, background_split.test_x),
        card,
    )
