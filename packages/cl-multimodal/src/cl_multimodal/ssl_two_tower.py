"""A CLIP two-tower model trained with the CL2L / SiamLIP add-ons of the improved recipe.

Fini et al., "Improved baselines for vision-language pre-training", TMLR 2023, arXiv:2305.08675.
:meth:`SSLTwoTowerModel.loss` draws ``n_aug`` augmented views of each batch (random resized crops,
EDA-style caption edits), encodes them with the same towers and adds the local CL2L terms (and,
for ``"siamlip"``, the SiamLIP term) to the global CLIP loss. Encoding and evaluation are those of
:class:`TwoTowerModel`, so the training loop and metrics need no change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from cl_multimodal.augment import augment_captions, random_resized_crop
from cl_multimodal.ssl_addons import CL2LLoss, SiamLIPLoss
from cl_multimodal.two_tower import TwoTowerModel

SSLAddon = Literal["cl2l", "siamlip"]
SSL_ADDONS: tuple[str, ...] = ("none", "cl2l", "siamlip")


class SSLTwoTowerModel(TwoTowerModel):
    """:class:`TwoTowerModel` whose loss is CL2L (optionally + SiamLIP).

    Args:
        image_tower: maps (B, 3, H, W) images in [0, 1] to (B, D).
        text_tower: maps B strings to (B, D).
        dim: the towers' output width D.
        addon: ``"cl2l"`` or ``"siamlip"`` (SiamLIP added to CL2L, as in the paper).
        n_aug: augmented view pairs per batch for the local terms (0 gives plain CLIP for
            ``"cl2l"``).
        label_smoothing: smoothing of the global CLIP term.
        local_label_smoothing: smoothing of the local terms (paper: 0.1).
        siamlip_weight: weight of the SiamLIP term.
        seed: seed of the caption augmentation.

    Example:
        >>> from cl_multimodal.towers.image import SmallCNNImageTower
        >>> from cl_multimodal.towers.text_small import BagOfWordsTextTower
        >>> from cl_multimodal.towers.vocabulary import WordVocabulary
        >>> vocab = WordVocabulary.build(["a red circle", "a blue square"])
        >>> model = SSLTwoTowerModel(SmallCNNImageTower(16), BagOfWordsTextTower(vocab, 16), 16)
        >>> model.loss(torch.rand(2, 3, 32, 32), ["a red circle", "a blue square"]).shape
        torch.Size([])
    """

    def __init__(
        self,
        image_tower: nn.Module,
        text_tower: nn.Module,
        dim: int,
        *,
        addon: SSLAddon = "cl2l",
        n_aug: int = 1,
        label_smoothing: float = 0.0,
        local_label_smoothing: float = 0.1,
        siamlip_weight: float = 1.0,
        seed: int = 0,
    ) -> None:
        if addon not in ("cl2l", "siamlip"):
            raise ValueError(f"addon must be 'cl2l' or 'siamlip', got {addon!r}")
        if n_aug < 0:
            raise ValueError(f"n_aug must be >= 0, got {n_aug}")
        if siamlip_weight < 0:
            raise ValueError(f"siamlip_weight must be >= 0, got {siamlip_weight}")
        super().__init__(image_tower, text_tower, label_smoothing=label_smoothing)
        self.addon = addon
        self.n_aug = n_aug
        self.siamlip_weight = siamlip_weight
        self.cl2l = CL2LLoss(
            dim, label_smoothing=label_smoothing, local_label_smoothing=local_label_smoothing
        )
        self.siamlip = SiamLIPLoss(dim) if addon == "siamlip" else None
        self._rng = np.random.default_rng(seed)

    def loss(self, images: Tensor, texts: Sequence[str]) -> Tensor:
        """CL2L (+ SiamLIP) of a batch of matched images and captions."""
        if images.shape[0] != len(texts):
            raise ValueError(
                f"images and texts must hold the same number of rows, got {images.shape[0]} "
                f"and {len(texts)}"
            )
        texts = list(texts)
        image = self.image_tower(images)
        text = self.text_tower(texts)
        view_images = [random_resized_crop(images) for _ in range(self.n_aug)]
        view_texts = [augment_captions(texts, self._rng) for _ in range(self.n_aug)]
        empty = image.new_empty(0, *image.shape)
        image_views = (
            torch.stack([self.image_tower(v) for v in view_images]) if view_images else empty
        )
        text_views = torch.stack([self.text_tower(v) for v in view_texts]) if view_texts else empty
        total = self.cl2l(
            image, text, image_views, text_views, self.logit_scale, gather=self.gather
        )
        if self.siamlip is not None:
            total = total + self.siamlip_weight * self.siamlip(image, text)
        return total
