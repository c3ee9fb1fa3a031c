"""Image data sets as float tensors ``(N, C, H, W)`` in [0, 1], each with its data card.

- ``digits``: scikit-learn's 1,797 real 8x8 handwritten digits (instant; for tests and quick runs).
- ``fashion-mnist``: the real 28x28 Fashion-MNIST (Xiao et al. 2017, arXiv:1708.07747) read by
  :func:`cl_core.datasets.load_fashion_mnist` through the source chain (the Debian package
  ``dataset-fashion-mnist``, a data folder, the cache, or torchvision's verified download).
- an ImageFolder path: the user's images, one sub-folder per class
  (:class:`torchvision.datasets.ImageFolder`), resized to a square and split 80/20 per class.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from cl_core.datasets import FASHION_MNIST_CARD, load_fashion_mnist

DIGITS_CARD = (
    "scikit-learn digits: 1,797 real 8x8 grey handwritten digits (UCI ML repository), 10 classes; "
    "stratified 70/30 split."
)


@dataclass(frozen=True)
class ImageSplit:
    """Train and test images with labels and a data card.

    Attributes:
        name: data set name (``digits``, ``fashion-mnist`` or the folder path).
        train_x: ``(N, C, H, W)`` float32 images in [0, 1].
        train_y: ``(N,)`` int64 labels.
        test_x: ``(M, C, H, W)`` float32 images in [0, 1].
        test_y: ``(M,)`` int64 labels.
        classes: class names, indexed by label.
        card: what the data is and where it comes from.
        kind: ``"real"`` or ``"synthesized"``.
    """

    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    classes: tuple[str, ...]
    card: str
    kind: str = "real"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def balanced_indices(labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` examples, as equal per class as possible, in a seeded order.

    Args:
        labels: ``(N,)`` integer labels.
        limit: how many to keep (``None``: all, shuffled).
        seed: seed of the shuffle.

    Returns:
        Sorted int64 indices into ``labels``.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")
    order = np.random.default_rng(seed).permutation(len(labels))
    if limit is None or limit >= len(labels):
        return np.sort(order)
    classes = np.unique(labels)
    rank_in_class = np.empty(len(labels), dtype=np.int64)
    for label in classes:
        members = order[labels[order] == label]
        rank_in_class[members] = np.arange(len(members))
    # Round-robin over classes: all rank-0 examples first, then rank 1, ...
    keys = rank_in_class[order] * len(classes) + np.searchsorted(classes, labels[order])
    return np.sort(order[np.argsort(keys, kind="stable")[:limit]])


def _to_tensor(images: np.ndarray, scale: float) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32) / scale).unsqueeze(1)


def load_digits_split(seed: int = 0, *, test_fraction: float = 0.3) -> ImageSplit:
    """scikit-learn digits as ``(N, 1, 8, 8)`` images, stratified train/test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    train_i, test_i = train_test_split(
        np.arange(len(digits.target)),
        test_size=test_fraction,
        stratify=digits.target,
        random_state=seed,
    )
    images = _to_tensor(digits.images, 16.0)
    labels = torch.from_numpy(digits.target.astype(np.int64))
    return ImageSplit(
        "digits",
        images[train_i],
        labels[train_i],
        images[test_i],
        labels[test_i],
        tuple(str(d) for d in range(10)),
        DIGITS_CARD,
    )


def load_fashion_mnist_split(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    train_limit: int | None = None,
    test_limit: int | None = None,
    seed: int = 0,
) -> ImageSplit:
    """Fashion-MNIST as ``(N, 1, 28, 28)`` images; optional class-balanced subsets.

    Args:
        data_dir: folder of the four ``*-ubyte.gz`` files or a data folder holding
            ``fashion-mnist/`` (default: the source chain of
            :func:`cl_core.datasets.load_fashion_mnist`).
        train_limit: keep at most this many training images (class-balanced, seeded).
        test_limit: keep at most this many test images (class-balanced, seeded).
        seed: seed of the subset choice.
    """
    from cl_core.datasets import FASHION_MNIST_CLASSES

    train_images, train_labels = load_fashion_mnist("train", data_dir)
    test_images, test_labels = load_fashion_mnist("test", data_dir)
    train_i = balanced_indices(train_labels, train_limit, seed)
    test_i = balanced_indices(test_labels, test_limit, seed + 1)
    card = FASHION_MNIST_CARD
    if train_limit is not None or test_limit is not None:
        card += f" Class-balanced subset: {len(train_i)} train / {len(test_i)} test images."
    return ImageSplit(
        "fashion-mnist",
        _to_tensor(train_images[train_i], 255.0),
        torch.from_numpy(train_labels[train_i]),
        _to_tensor(test_images[test_i], 255.0),
        torch.from_numpy(test_labels[test_i]),
        FASHION_MNIST_CLASSES,
        card,
    )


def load_image_folder_split(
    root: str | os.PathLike[str],
    *,
    image_size: int = 32,
    grayscale: bool = False,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> ImageSplit:
    """Images in ImageFolder layout (``root/<class>/<image>``), resized to ``image_size``.

    Args:
        root: folder with one sub-folder per class.
        image_size: side of the square the images are resized to.
        grayscale: convert to one channel (default: RGB, 3 channels).
        test_fraction: share of each class held out for the probes.
        seed: seed of the split.

    Raises:
        FileNotFoundError: ``root`` is not a folder or holds no images.
        ValueError: an image cannot be decoded (the message names the file) or a class has
            fewer than two images.
    """
    from sklearn.model_selection import train_test_split
    from torchvision import datasets
    from torchvision.transforms import v2

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist or is not a folder")
    steps = [v2.ToImage(), v2.Resize((image_size, image_size), antialias=True)]
    if grayscale:
        steps.append(v2.Grayscale(1))
    steps.append(v2.ToDtype(torch.float32, scale=True))
    try:
        folder = datasets.ImageFolder(str(root), transform=v2.Compose(steps))
    except FileNotFoundError as error:
        raise FileNotFoundError(f"image folder {root}: {error}") from None
    images, labels = [], []
    for index, (path, _) in enumerate(folder.samples):
        try:
            image, label = folder[index]
        except OSError as error:
            raise ValueError(f"{path}: cannot read image ({error})") from None
        images.append(image)
        labels.append(label)
    label_array = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(label_array, minlength=len(folder.classes))
    if counts.min() < 2:
        small = [folder.classes[i] for i in np.flatnonzero(counts < 2)]
        raise ValueError(f"image folder {root}: classes {small} need at least 2 images each")
    train_i, test_i = train_test_split(
        np.arange(len(label_array)),
        test_size=test_fraction,
        stratify=label_array,
        random_state=seed,
    )
    stacked = torch.stack(images)
    targets = torch.from_numpy(label_array)
    return ImageSplit(
        str(root),
        stacked[train_i],
        targets[train_i],
        stacked[test_i],
        targets[test_i],
        tuple(folder.classes),
        f"User images from {root} (ImageFolder layout, {len(folder.classes)} classes, "
        f"{len(label_array)} images, resized to {image_size}x{image_size}); 80/20 split per class.",
    )


def load_image_split(
    data: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    train_limit: int | None = None,
    test_limit: int | None = None,
    image_size: int = 32,
    seed: int = 0,
) -> ImageSplit:
    """``digits``, ``fashion-mnist`` or an ImageFolder path, as an :class:`ImageSplit`.

    ``train_limit`` / ``test_limit`` keep class-balanced subsets (all three sources).
    """
    if data == "digits":
        split = load_digits_split(seed)
    elif data == "fashion-mnist":
        return load_fashion_mnist_split(
            data_dir, train_limit=train_limit, test_limit=test_limit, seed=seed
        )
    else:
        split = load_image_folder_split(data, image_size=image_size, seed=seed)
    if train_limit is None and test_limit is None:
        return split
    train_i = torch.from_numpy(balanced_indices(split.train_y.numpy(), train_limit, seed))
    test_i = torch.from_numpy(balanced_indices(split.test_y.numpy(), test_limit, seed + 1))
    return ImageSplit(
        split.name,
        split.train_x[train_i],
        split.train_y[train_i],
        split.test_x[test_i],
        split.test_y[test_i],
        split.classes,
        split.card + f" Subset: {len(train_i)} train / {len(test_i)} test images.",
        split.kind,
    )
