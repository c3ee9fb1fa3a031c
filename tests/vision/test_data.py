"""Image data: digits, real Fashion-MNIST slices, ImageFolder user data, balanced subsets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cl_core.datasets import sources
from cl_vision.data import (
    balanced_indices,
    load_digits_split,
    load_fashion_mnist_split,
    load_image_folder_split,
    load_image_split,
)


def test_digits_split_is_stratified_and_scaled_to_unit_range() -> None:
    split = load_digits_split(0)
    assert split.train_x.shape[1:] == (1, 8, 8)
    assert len(split.train_x) + len(split.test_x) == 1797
    assert split.train_x.dtype == torch.float32
    assert float(split.train_x.min()) >= 0.0 and float(split.train_x.max()) == pytest.approx(1.0)
    assert torch.bincount(split.test_y).min() >= 50
    assert split.kind == "real" and "digits" in split.card


def test_balanced_indices_take_equal_counts_per_class() -> None:
    labels = np.repeat(np.arange(4), [50, 10, 30, 40])
    chosen = balanced_indices(labels, 20, seed=3)
    assert np.bincount(labels[chosen]).tolist() == [5, 5, 5, 5]
    assert np.array_equal(chosen, np.sort(chosen))
    assert len(balanced_indices(labels, None, seed=0)) == len(labels)
    with pytest.raises(ValueError, match="limit"):
        balanced_indices(labels, 0, seed=0)


@pytest.mark.requires_data("fashion-mnist")
def test_fashion_mnist_subset_is_real_and_balanced() -> None:
    split = load_fashion_mnist_split(train_limit=200, test_limit=100, seed=0)
    assert split.train_x.shape == (200, 1, 28, 28)
    assert torch.bincount(split.train_y).tolist() == [20] * 10
    assert torch.bincount(split.test_y).tolist() == [10] * 10
    assert float(split.train_x.max()) <= 1.0 and float(split.train_x.std()) > 0.1
    assert "Fashion-MNIST" in split.card and "subset" in split.card


def test_missing_fashion_mnist_names_the_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sources.DATASETS["fashion-mnist"]
    monkeypatch.setitem(sources.DATASETS, "fashion-mnist", replace(real, installed=()))
    monkeypatch.delenv("CL_DATA_DIR", raising=False)
    monkeypatch.setenv("CL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CL_OFFLINE", "1")
    with pytest.raises(sources.DataUnavailableError, match="dataset-fashion-mnist"):
        load_image_split("fashion-mnist", data_dir=tmp_path)


def _write_folder(root: Path, per_class: int = 4) -> None:
    rng = np.random.default_rng(0)
    for name, level in (("cats", 40), ("dogs", 200)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(level, 10, size=(12, 10, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")


def test_image_folder_is_resized_split_and_labelled(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    split = load_image_folder_split(tmp_path, image_size=16)
    assert split.classes == ("cats", "dogs")
    assert split.train_x.shape[1:] == (3, 16, 16)
    assert len(split.train_x) + len(split.test_x) == 8
    # Class 1 ("dogs") was written brighter: the labels follow the folders.
    dogs = split.train_x[split.train_y == 1].mean()
    cats = split.train_x[split.train_y == 0].mean()
    assert dogs > cats + 0.3


def test_image_folder_unreadable_image_names_the_file(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    (tmp_path / "cats" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"broken\.png"):
        load_image_folder_split(tmp_path)


def test_image_folder_missing_or_empty_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_split(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_image_split(str(tmp_path))


def test_limits_apply_to_every_source() -> None:
    split = load_image_split("digits", train_limit=100, test_limit=50)
    assert len(split.train_x) == 100 and len(split.test_x) == 50
    assert torch.bincount(split.train_y).tolist() == [10] * 10
