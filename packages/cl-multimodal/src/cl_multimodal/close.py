r"""CLOSE: text-only training with noise injection in a joint image-text space.

Gu, Clark, Kembhavi, "I Can't Believe There's No Images! Learning Visual Tasks Using only Language
Supervision", ICCV 2023, arXiv:2211.09778 (author code ``allenai/close``).

A model trained on (unit-norm) text embeddings is applied to image embeddings at test time. The
two modalities of a contrastive space are separated by a gap, so during training CLOSE adds
Gaussian noise to the text embedding and re-normalises:

.. math:: e' = \frac{e + \epsilon}{\lVert e + \epsilon \rVert}, \qquad \epsilon \sim N(0, w^2 I)

(training only; the paper's default w is 0.04-0.12 depending on the task).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def modality_gap_noise(
    embeddings: Tensor, std: float, generator: torch.Generator | None = None
) -> Tensor:
    """``normalize(embeddings + N(0, std^2 I))`` row by row.

    Args:
        embeddings: (N, D) embeddings.
        std: noise scale w >= 0 (0 only re-normalises).
        generator: randomness.

    Returns:
        (N, D) unit-norm rows.

    Example:
        >>> out = modality_gap_noise(torch.eye(3), 0.1, torch.Generator().manual_seed(0))
        >>> torch.allclose(out.norm(dim=1), torch.ones(3))
        True
    """
    if not isinstance(embeddings, Tensor):
        raise TypeError(f"embeddings must be a torch.Tensor, got {type(embeddings).__name__}")
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must have shape (N, D), got {tuple(embeddings.shape)}")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    noise = torch.randn(embeddings.shape, generator=generator, dtype=embeddings.dtype)
    return F.normalize(embeddings + std * noise.to(embeddings.device), dim=-1)


class ModalityGapNoise(nn.Module):
    """:func:`modality_gap_noise` in training mode, plain re-normalisation in eval mode.

    Example:
        >>> layer = ModalityGapNoise(0.08).eval()
        >>> torch.allclose(layer(torch.eye(2) * 3), torch.eye(2))
        True
    """

    def __init__(self, std: float = 0.08) -> None:
        super().__init__()
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.std = std

    def forward(self, embeddings: Tensor) -> Tensor:
        return modality_gap_noise(embeddings, self.std if self.training else 0.0)
