"""A CLIP two-tower model: image tower + text tower, L2-normalised embeddings, learnable scale.

Radford et al., "Learning Transferable Visual Models From Natural Language Supervision", ICML
2021, arXiv:2103.00020. The loss is the kernel's :class:`cl_core.losses.CLIPLoss`, which owns the
learnable log logit scale (initialised at log(1/0.07), clipped at 100). Under data-parallel
training the trainer sets :attr:`TwoTowerModel.gather` (``cl_core.training.gather_negatives``), so
each process scores its rows against the other modality of every process: one global batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.losses import CLIPLoss


class TwoTowerModel(nn.Module):
    """Image and text towers with a shared embedding width and the CLIP loss.

    Args:
        image_tower: maps (B, 3, H, W) float images in [0, 1] to (B, D).
        text_tower: maps a sequence of B strings to (B, D).
        label_smoothing: label smoothing of the CLIP loss (improved baselines: 0.1).

    Example:
        >>> from cl_multimodal.towers.image import SmallCNNImageTower
        >>> from cl_multimodal.towers.text_small import BagOfWordsTextTower
        >>> from cl_multimodal.towers.vocabulary import WordVocabulary
        >>> vocab = WordVocabulary.build(["a red circle", "a blue square"])
        >>> model = TwoTowerModel(SmallCNNImageTower(16), BagOfWordsTextTower(vocab, 16))
        >>> model.loss(torch.rand(2, 3, 32, 32), ["a red circle", "a blue square"]).shape
        torch.Size([])
    """

    def __init__(
        self, image_tower: nn.Module, text_tower: nn.Module, *, label_smoothing: float = 0.0
    ) -> None:
        super().__init__()
        self.image_tower = image_tower
        self.text_tower = text_tower
        self.criterion = CLIPLoss(label_smoothing=label_smoothing)

    @property
    def gather(self) -> bool:
        """Whether the loss gathers the other modality across processes (data parallelism)."""
        return self.criterion.gather

    @gather.setter
    def gather(self, value: bool) -> None:
        self.criterion.gather = bool(value)

    @property
    def logit_scale(self) -> Tensor:
        """The current multiplier exp(log_logit_scale), clipped at 100."""
        return self.criterion.log_logit_scale.exp().clamp(max=self.criterion.max_logit_scale)

    def encode_images(self, images: Tensor) -> Tensor:
        """Unit-norm image embeddings (B, D)."""
        return F.normalize(self.image_tower(images), dim=-1)

    def encode_texts(self, texts: Sequence[str]) -> Tensor:
        """Unit-norm text embeddings (B, D)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, got a single str")
        return F.normalize(self.text_tower(texts), dim=-1)

    def loss(self, images: Tensor, texts: Sequence[str]) -> Tensor:
        """The symmetric CLIP loss of a batch of matched images and captions."""
        if images.shape[0] != len(texts):
            raise ValueError(
                f"images and texts must hold the same number of rows, got {images.shape[0]} "
                f"and {len(texts)}"
            )
        return self.criterion(self.image_tower(images), self.text_tower(texts))

    @torch.no_grad()
    def embed_images(self, images: Tensor, batch_size: int = 256) -> Tensor:
        """Unit-norm embeddings of many images in eval mode, batch by batch."""
        was_training = self.training
        self.eval()
        out = torch.cat(
            [
                self.encode_images(images[i : i + batch_size])
                for i in range(0, len(images), batch_size)
            ]
        )
        self.train(was_training)
        return out

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str], batch_size: int = 512) -> Tensor:
        """Unit-norm embeddings of many texts in eval mode, batch by batch."""
        was_training = self.training
        self.eval()
        texts = list(texts)
        out = torch.cat(
            [self.encode_texts(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        )
        self.train(was_training)
        return out
