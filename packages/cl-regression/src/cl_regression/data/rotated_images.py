"""Image regression with a controlled target: real Fashion-MNIST items rotated by a known angle.

The images are real (Fashion-MNIST, Xiao et al. 2017, arXiv:1708.07747, read with
:func:`cl_core.datasets.load_fashion_mnist`); the target is synthetic: each image is rotated by an
angle drawn uniformly from ``[-max_angle, max_angle]`` degrees, and that angle is what a model has
to predict. Rotation is bilinear about the image centre, keeping the 28x28 frame
(``scipy.ndimage.rotate``). The angle range stays below 90 degrees by default so the target is
identifiable (many garments look alike upside down).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cl_core.datasets import FASHION_MNIST_CARD, load_fashion_mnist
from cl_regression.data.tables import RegressionTable

ANGLE_COLUMN = "angle"


def rotate_images(images: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate each (H, W) image of ``images`` counter-clockwise by ``angles`` degrees.

    Args:
        images: (N, H, W) grey images (any real dtype).
        angles: (N,) angles in degrees.

    Returns:
        (N, H, W) float32 rotated images, same frame, zero fill outside the original.

    Example:
        >>> image = np.zeros((1, 5, 5)); image[0, 2, 3:] = 1.0
        >>> rotate_images(image, np.array([90.0]))[0, 0, 2] > 0.5
        np.True_
    """
    from scipy.ndimage import rotate

    images = np.asarray(images)
    angles = np.asarray(angles, dtype=np.float64)
    if images.ndim != 3 or angles.shape != (images.shape[0],):
        raise ValueError(
            f"images must be (N, H, W) and angles (N,), got {images.shape} and {angles.shape}"
        )
    return np.stack(
        [
            rotate(image.astype(np.float32), angle, reshape=False, order=1, mode="constant")
            for image, angle in zip(images, angles, strict=True)
        ]
    )


def load_rotated_fashion_mnist_table(
    num_images: int = 3000,
    *,
    max_angle: float = 60.0,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> RegressionTable:
    """The first ``num_images`` Fashion-MNIST training images, each rotated by a random angle.

    Args:
        num_images: number of images (from the start of the training file), >= 4.
        max_angle: angles are uniform in ``[-max_angle, max_angle]`` degrees, ``0 < max_angle <=
            180``.
        seed: seed of the angles.
        data_dir: Fashion-MNIST directory or data folder (default: the source chain of
            :func:`cl_core.datasets.load_fashion_mnist`).

    Returns:
        A :class:`~cl_regression.data.tables.RegressionTable` with 784 pixel columns
        ``px0 .. px783`` (values in [0, 1]) and the target column ``"angle"`` (degrees).

    Example:
        >>> table = load_rotated_fashion_mnist_table(8)  # doctest: +SKIP
        >>> table.arrays()[0].shape  # doctest: +SKIP
        (8, 784)
    """
    if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 4:
        raise ValueError(f"num_images must be an int >= 4, got {num_images!r}")
    if not 0 < max_angle <= 180:
        raise ValueError(f"max_angle must lie in (0, 180], got {max_angle}")
    images, _ = load_fashion_mnist("train", data_dir, limit=num_images)
    angles = np.random.default_rng(seed).uniform(-max_angle, max_angle, len(images))
    pixels = rotate_images(images / 255.0, angles).reshape(len(images), -1)
    frame = pd.DataFrame(pixels, columns=[f"px{index}" for index in range(pixels.shape[1])])
    frame[ANGLE_COLUMN] = angles
    return RegressionTable(
        name="rotated-fashion-mnist",
        frame=frame,
        target=ANGLE_COLUMN,
        card=(
            f"Real images, synthetic target: {FASHION_MNIST_CARD} The first {len(images)} "
            f"training images, each rotated by an angle drawn uniformly from [-{max_angle:g}, "
            f"{max_angle:g}] degrees (seed {seed}); the target is that angle."
        ),
    )
