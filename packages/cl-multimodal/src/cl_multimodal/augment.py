"""Image and text augmentations of the "improved baselines" CLIP recipe, batched and seedable.

Fini et al., "Improved baselines for vision-language pre-training", TMLR 2023, arXiv:2305.08675:
most of CLIP's gain on small data comes from image augmentation (random resized crops) and text
augmentation (EDA-style word deletion and swaps; Wei & Zou, EMNLP 2019, arXiv:1901.11196). No
horizontal flips: they would break captions with "left of".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cl_multimodal.towers.vocabulary import words


def random_resized_crop(
    images: Tensor,
    generator: torch.Generator | None = None,
    *,
    scale: tuple[float, float] = (0.7, 1.0),
    max_shift: float = 0.15,
) -> Tensor:
    """Per-image random zoom (side fraction in ``scale``) and shift, bilinear, same output size.

    Implemented as one batched affine resampling, so each image gets its own crop. Pixels outside
    the source take the border value.

    Args:
        images: (B, C, H, W) float images.
        generator: randomness.
        scale: range of the crop's side as a fraction of the image side, within (0, 1].
        max_shift: largest shift of the crop centre, as a fraction of the half-side.

    Returns:
        (B, C, H, W) augmented images.
    """
    if images.ndim != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(images.shape)}")
    low, high = scale
    if not 0.0 < low <= high <= 1.0:
        raise ValueError(f"scale must satisfy 0 < low <= high <= 1, got {scale}")
    batch = images.shape[0]
    side = low + (high - low) * torch.rand(batch, generator=generator)
    shift = (torch.rand(batch, 2, generator=generator) * 2 - 1) * max_shift
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = side
    theta[:, 1, 1] = side
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="border", align_corners=False)


def augment_caption(
    caption: str, rng: np.random.Generator, *, delete_p: float = 0.1, swap_p: float = 0.1
) -> str:
    """EDA-style text augmentation: delete each word with ``delete_p`` (keeping at least one),
    then with probability ``swap_p`` swap two random words.

    Example:
        >>> augment_caption("an emoji of a cat", np.random.default_rng(0), delete_p=0.0, swap_p=0.0)
        'an emoji of a cat'
    """
    if not (0.0 <= delete_p < 1.0 and 0.0 <= swap_p <= 1.0):
        raise ValueError(
            f"delete_p must lie in [0, 1) and swap_p in [0, 1], got {delete_p}, {swap_p}"
        )
    tokens = words(caption)
    kept = [w for w in tokens if rng.random() >= delete_p] or tokens[:1]
    if len(kept) >= 2 and rng.random() < swap_p:
        i, j = rng.choice(len(kept), size=2, replace=False)
        kept[i], kept[j] = kept[j], kept[i]
    return " ".join(kept)


def augment_captions(captions: Sequence[str], rng: np.random.Generator) -> list[str]:
    """:func:`augment_caption` on each caption."""
    return [augment_caption(c, rng) for c in captions]
