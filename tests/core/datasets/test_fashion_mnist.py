"""Fashion-MNIST IDX loader: real files, overrides, and clear errors for missing/broken files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from cl_core.datasets import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR_ENV,
    fashion_mnist_dir,
    load_fashion_mnist,
)

needs_real_copy = pytest.mark.requires_data("fashion-mnist")


def _write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def _fake_split(root: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    _write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images, 2051)
    _write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels, 2049)


@needs_real_copy
def test_real_test_split_has_ten_balanced_classes() -> None:
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10_000, 28, 28)
    assert images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [1000] * len(FASHION_MNIST_CLASSES)
    assert images.max() > 200 and images.min() == 0


@needs_real_copy
def test_limit_keeps_the_first_examples_in_file_order() -> None:
    full_images, full_labels = load_fashion_mnist("test")
    images, labels = load_fashion_mnist("test", limit=7)
    np.testing.assert_array_equal(images, full_images[:7])
    np.testing.assert_array_equal(labels, full_labels[:7])


def test_data_dir_argument_reads_the_given_directory(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28))
    labels = np.array([3, 1, 4, 1, 5])
    _fake_split(tmp_path, "train", images, labels)
    got_images, got_labels = load_fashion_mnist("train", data_dir=tmp_path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_environment_variable_names_a_folder_of_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for prefix in ("train", "t10k"):
        _fake_split(tmp_path, prefix, np.zeros((2, 28, 28)), np.zeros(2))
    monkeypatch.setenv(FASHION_MNIST_DIR_ENV, str(tmp_path))
    assert fashion_mnist_dir() == tmp_path
    assert load_fashion_mnist("test")[0].shape == (2, 28, 28)


def test_absent_everywhere_names_the_debian_package_and_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from cl_core.datasets import sources

    real = sources.DATASETS["fashion-mnist"]
    monkeypatch.setitem(sources.DATASETS, "fashion-mnist", replace(real, installed=()))
    monkeypatch.delenv("CL_DATA_DIR", raising=False)
    monkeypatch.setenv("CL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CL_OFFLINE", "1")
    pattern = r"fashion-mnist is not available.*dataset-fashion-mnist.*--data-dir"
    with pytest.raises(sources.DataUnavailableError, match=pattern):
        load_fashion_mnist("test", data_dir=tmp_path)


def test_wrong_magic_number_is_reported(tmp_path: Path) -> None:
    images = np.zeros((2, 28, 28))
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, 2049)
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        load_fashion_mnist("train", data_dir=tmp_path)


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(">IIII", 2051, 3, 28, 28) + b"\x00" * 100)
    with pytest.raises(ValueError, match="header says shape"):
        load_fashion_mnist("train", data_dir=tmp_path)


def test_image_label_count_mismatch_is_reported(tmp_path: Path) -> None:
    _fake_split(tmp_path, "train", np.zeros((3, 28, 28)), np.zeros(2))
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        load_fashion_mnist("train", data_dir=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "pattern"), [({"split": "val"}, "split"), ({"limit": 0}, "limit")]
)
def test_bad_arguments_raise(kwargs: dict[str, object], pattern: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=pattern):
        load_fashion_mnist(data_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_module_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, cl_core.datasets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
