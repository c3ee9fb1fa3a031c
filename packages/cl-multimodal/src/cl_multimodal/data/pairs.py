"""The container every image-caption loader returns, and a deterministic grouped split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImageCaptionPairs:
    """Images with one caption each, an optional class label and a split group.

    Attributes:
        images: uint8 array (N, H, W, 3), RGB.
        captions: N captions.
        labels: (N,) int64 class indices, or -1 everywhere when there are none.
        label_names: the class names indexed by ``labels``.
        groups: (N,) int64; pairs sharing a group always land on the same side of a split.
        card: where the data comes from and whether it is real or synthesized.
    """

    images: np.ndarray
    captions: tuple[str, ...]
    labels: np.ndarray
    label_names: tuple[str, ...]
    groups: np.ndarray
    card: str

    def __post_init__(self) -> None:
        n = len(self.captions)
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise ValueError(
                f"images must be a uint8 array (N, H, W, 3), got {self.images.dtype} "
                f"{self.images.shape}"
            )
        for name, array in (
            ("images", self.images),
            ("labels", self.labels),
            ("groups", self.groups),
        ):
            if len(array) != n:
                raise ValueError(f"{name} must hold {n} rows (one per caption), got {len(array)}")

    def __len__(self) -> int:
        return len(self.captions)

    def float_images(self, index: np.ndarray | None = None):
        """Images (all, or those at ``index``) as a float32 tensor (N, 3, H, W) in [0, 1]."""
        import torch

        chosen = self.images if index is None else self.images[index]
        return torch.from_numpy(np.ascontiguousarray(chosen)).permute(0, 3, 1, 2).float() / 255.0

    def subset(self, index: np.ndarray) -> ImageCaptionPairs:
        """The pairs at ``index`` (integer array), keeping the label names and card."""
        return ImageCaptionPairs(
            images=self.images[index],
            captions=tuple(self.captions[i] for i in index),
            labels=self.labels[index],
            label_names=self.label_names,
            groups=self.groups[index],
            card=self.card,
        )

    def split(
        self, test_fraction: float, seed: int = 0
    ) -> tuple[ImageCaptionPairs, ImageCaptionPairs]:
        """Deterministic train/test split by group: about ``test_fraction`` of groups go to test.

        Raises:
            ValueError: ``test_fraction`` is outside (0, 1) or leaves one side empty.
        """
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
        unique = np.unique(self.groups)
        rng = np.random.default_rng(seed)
        test_count = round(len(unique) * test_fraction)
        if test_count < 1 or test_count >= len(unique):
            raise ValueError(
                f"test_fraction={test_fraction} of {len(unique)} groups leaves an empty split"
            )
        test_groups = rng.permutation(unique)[:test_count]
        is_test = np.isin(self.groups, test_groups)
        return self.subset(np.flatnonzero(~is_test)), self.subset(np.flatnonzero(is_test))
