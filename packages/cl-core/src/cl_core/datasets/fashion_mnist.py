"""Fashion-MNIST from its four IDX files (gzip + numpy; no torch needed).

Fashion-MNIST (Xiao, Rasul & Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking
Machine Learning Algorithms", 2017, arXiv:1708.07747): 70,000 real 28x28 grey photographs of
Zalando articles in 10 classes (60,000 train / 10,000 test), MIT licence. The files come from the
source chain (:mod:`cl_core.datasets.sources`, requirement ``"fashion-mnist"``): the Debian package
``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``), ``$CL_FASHION_MNIST_DIR``, a
``--data-dir`` / ``$CL_DATA_DIR`` folder holding ``fashion-mnist/``, the cache, or torchvision's
download (md5-verified).

Example:
    >>> from cl_core.datasets import load_fashion_mnist
    >>> images, labels = load_fashion_mnist("test")  # doctest: +SKIP
    >>> images.shape, images.dtype, labels.dtype  # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'), dtype('int64'))
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Literal

import numpy as np

from cl_core.datasets.sources import resolve_dataset

#: Environment variable naming a Fashion-MNIST folder (searched before the Debian path).
FASHION_MNIST_DIR_ENV = "CL_FASHION_MNIST_DIR"
FASHION_MNIST_URL = "https://github.com/zalandoresearch/fashion-mnist/tree/master/data/fashion"
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_CARD = (
    "Fashion-MNIST (Xiao et al. 2017, arXiv:1708.07747): real 28x28 grey photos of Zalando "
    "articles, 10 classes, 60k train / 10k test, MIT licence; read from the Debian package "
    "dataset-fashion-mnist, a data folder or torchvision's download (md5-verified)."
)

_FILE_PREFIX = {"train": "train", "test": "t10k"}
_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049


def fashion_mnist_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the four files, from the source chain (``data_dir`` is a data folder or the
    Fashion-MNIST folder itself); downloads them into the cache when they are nowhere.

    Raises:
        DataUnavailableError: absent and not downloadable; the message names the ways to get it.
    """
    return resolve_dataset("fashion-mnist", data_dir)


def _split_dir(data_dir: str | os.PathLike[str] | None, prefix: str) -> Path:
    # A data_dir holding this split's files is read as given (tests write one split only).
    if data_dir is not None:
        for candidate in (Path(data_dir), Path(data_dir) / "fashion-mnist"):
            if (candidate / f"{prefix}-images-idx3-ubyte.gz").is_file():
                return candidate
    return fashion_mnist_dir(data_dir)


def load_fashion_mnist(
    split: Literal["train", "test"] = "train",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read one split of Fashion-MNIST.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
        data_dir: directory holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` (or a
            data folder holding ``fashion-mnist/``); without the files, :func:`fashion_mnist_dir`.
        limit: keep only the first ``limit`` examples (file order), or all when ``None``.

    Returns:
        ``(images, labels)``: ``uint8`` array of shape ``(N, 28, 28)`` and ``int64`` array of shape
        ``(N,)`` with values in ``0..9`` (see :data:`FASHION_MNIST_CLASSES`).

    Raises:
        ValueError: unknown ``split``, non-positive ``limit`` or a malformed file.
        DataUnavailableError: the data set is nowhere and cannot be downloaded.
        FileNotFoundError: one file of a given folder is missing.
    """
    if split not in _FILE_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    prefix = _FILE_PREFIX[split]
    root = _split_dir(data_dir, prefix)
    images = _read_idx(root / f"{prefix}-images-idx3-ubyte.gz", _IMAGE_MAGIC, limit)
    labels = _read_idx(root / f"{prefix}-labels-idx1-ubyte.gz", _LABEL_MAGIC, limit)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"Fashion-MNIST {split} files in {root} disagree: {images.shape[0]} images but "
            f"{labels.shape[0]} labels"
        )
    return images, labels.astype(np.int64)


def _read_idx(path: Path, magic: int, limit: int | None) -> np.ndarray:
    """Read a gzip IDX file (big-endian header: magic, then one uint32 per dimension)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Fashion-MNIST file {path} not found: the folder holds only part of the data set "
            f"(install the Debian package dataset-fashion-mnist or download it from "
            f"{FASHION_MNIST_URL})"
        )
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    n_dims = magic - 2048
    header_bytes = 4 * (1 + n_dims)
    if len(data) < header_bytes:
        raise ValueError(f"{path}: file too short for an IDX header ({len(data)} bytes)")
    header = np.frombuffer(data, dtype=">u4", count=1 + n_dims)
    if int(header[0]) != magic:
        raise ValueError(f"{path}: IDX magic number {int(header[0])}, expected {magic}")
    shape = tuple(int(d) for d in header[1:])
    expected = int(np.prod(shape))
    if len(data) - header_bytes != expected:
        raise ValueError(
            f"{path}: header says shape {shape} ({expected} bytes) but the file holds "
            f"{len(data) - header_bytes} bytes of data"
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=header_bytes).reshape(shape)
    if limit is not None:
        array = array[:limit]
    return array.copy()
