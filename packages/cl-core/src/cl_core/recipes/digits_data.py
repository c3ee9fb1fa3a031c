"""The scikit-learn digits data set and simple tensor augmentations for 8x8 images.

Data: 1,797 real 8x8 grey-level images of handwritten digits (UCI "Optical Recognition of
Handwritten Digits", shipped with scikit-learn as ``load_digits``; no download).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class FeatureSplit:
    """Train/test features ``(N, D)`` (float32) and integer labels ``(N,)`` (``-1``: unlabelled)."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    image_shape: tuple[int, int] | None


def load_digits_split(seed: int = 0, test_fraction: float = 0.3) -> FeatureSplit:
    """Digits scaled to [0, 1], split stratified into train and test.

    Args:
        seed: seed of the split.
        test_fraction: share of each class held out, in (0, 1).

    Returns:
        A :class:`FeatureSplit` with 64-pixel rows and ``image_shape=(8, 8)``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    images, labels = load_digits(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        images / 16.0, labels, test_size=test_fraction, stratify=labels, random_state=seed
    )
    return FeatureSplit(
        torch.as_tensor(train_x, dtype=torch.float32),
        torch.as_tensor(train_y, dtype=torch.long),
        torch.as_tensor(test_x, dtype=torch.float32),
        torch.as_tensor(test_y, dtype=torch.long),
        (8, 8),
    )


def load_npy_split(path: str | Path, seed: int = 0, test_fraction: float = 0.2) -> FeatureSplit:
    """Rows of a 2-D ``.npy`` array, standardised with the training statistics, split at random.

    Raises:
        ValueError: the file does not hold a 2-D numeric array with at least 10 rows.
    """
    array = np.load(path, allow_pickle=False)
    if array.ndim != 2 or array.shape[0] < 10 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            f"{path} must hold a numeric 2-D array (N >= 10, D), got dtype {array.dtype} "
            f"shape {array.shape}"
        )
    generator = np.random.default_rng(seed)
    order = generator.permutation(array.shape[0])
    n_test = max(1, round(test_fraction * array.shape[0]))
    test, train = array[order[:n_test]], array[order[n_test:]]
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-8
    unlabelled = torch.full((len(train),), -1), torch.full((len(test),), -1)
    return FeatureSplit(
        torch.as_tensor((train - mean) / std, dtype=torch.float32),
        unlabelled[0],
        torch.as_tensor((test - mean) / std, dtype=torch.float32),
        unlabelled[1],
        None,
    )


def augment_features(
    x: Tensor,
    generator: torch.Generator,
    *,
    image_shape: tuple[int, int] | None,
    mask_prob: float = 0.2,
    noise_std: float = 0.1,
    max_shift: int = 1,
) -> Tensor:
    """One random view: drop pixels/features, add Gaussian noise and (for images) shift by <= 1 px.

    Args:
        x: ``(N, D)`` rows; images are flattened ``image_shape``.
        generator: source of all randomness (seeded per step by ``ContrastiveModule``).
        image_shape: ``(H, W)`` with ``H * W == D`` to enable shifts, or ``None``.
        mask_prob: probability of zeroing each entry.
        noise_std: standard deviation of the additive noise.
        max_shift: largest shift in pixels along each axis (zero-filled, not wrapped).

    Returns:
        The augmented ``(N, D)`` view.
    """
    keep = torch.rand(x.shape, generator=generator) >= mask_prob
    view = x * keep + noise_std * torch.randn(x.shape, generator=generator)
    if image_shape is None or max_shift == 0:
        return view
    height, width = image_shape
    images = view.reshape(-1, 1, height, width)
    padded = torch.nn.functional.pad(images, (max_shift,) * 4)
    shifts = torch.randint(0, 2 * max_shift + 1, (len(x), 2), generator=generator)
    rows = torch.arange(height)[None, :] + shifts[:, :1]
    cols = torch.arange(width)[None, :] + shifts[:, 1:]
    index = torch.arange(len(x))[:, None, None]
    shifted = padded[index, 0, rows[:, :, None], cols[:, None, :]]
    return shifted.reshape(len(x), height * width)
