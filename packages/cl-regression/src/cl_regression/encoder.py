"""Encoders of the compared methods (an MLP for tables, a small CNN for images) and noise views."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Literal

import torch
from torch import Tensor, nn

EncoderKind = Literal["mlp", "cnn"]


class TabularEncoder(nn.Module):
    """MLP ``in_features -> hidden -> ... -> embedding_dim`` with ReLU between layers.

    Args:
        in_features: number of (standardised) input columns.
        hidden: widths of the hidden layers.
        embedding_dim: width of the output embedding.

    Shapes:
        input (B, in_features) -> output (B, embedding_dim).

    Example:
        >>> TabularEncoder(10)(torch.randn(4, 10)).shape
        torch.Size([4, 32])
    """

    def __init__(
        self, in_features: int, hidden: tuple[int, ...] = (128, 128), embedding_dim: int = 32
    ) -> None:
        super().__init__()
        if in_features < 1 or embedding_dim < 1 or any(width < 1 for width in hidden):
            raise ValueError(
                f"in_features, hidden widths and embedding_dim must be >= 1, got {in_features}, "
                f"{hidden}, {embedding_dim}"
            )
        widths = (in_features, *hidden)
        layers: list[nn.Module] = []
        for width_in, width_out in pairwise(widths):
            layers += [nn.Linear(width_in, width_out), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], embedding_dim))
        self.net = nn.Sequential(*layers)
        self.embedding_dim = embedding_dim

    def forward(self, rows: Tensor) -> Tensor:
        """Embed a batch of rows."""
        return self.net(rows)


class ConvEncoder(nn.Module):
    """Small CNN for square one-channel images given as flattened rows.

    ``[Conv3x3 -> ReLU -> MaxPool2] x len(channels)``, then ``Linear -> ReLU -> Linear``. Rows are
    reshaped to (B, 1, side, side), so the (possibly standardised) pixels can travel through the
    same row-based training code as tables.

    Args:
        in_features: pixels per image, ``side * side``.
        channels: output channels of the convolution blocks.
        hidden: width of the fully connected layer.
        embedding_dim: width of the output embedding.

    Shapes:
        input (B, side * side) -> output (B, embedding_dim).

    Example:
        >>> ConvEncoder(28 * 28)(torch.randn(4, 784)).shape
        torch.Size([4, 32])
    """

    def __init__(
        self,
        in_features: int,
        channels: tuple[int, ...] = (16, 32),
        hidden: int = 128,
        embedding_dim: int = 32,
    ) -> None:
        super().__init__()
        side = math.isqrt(in_features)
        if side * side != in_features or side < 2 ** len(channels):
            raise ValueError(
                f"in_features must be side*side with side >= {2 ** len(channels)}, got "
                f"{in_features}"
            )
        if not channels or min(channels) < 1 or hidden < 1 or embedding_dim < 1:
            raise ValueError(
                f"channels, hidden and embedding_dim must be >= 1, got {channels}, {hidden}, "
                f"{embedding_dim}"
            )
        layers: list[nn.Module] = []
        for width_in, width_out in pairwise((1, *channels)):
            layers += [nn.Conv2d(width_in, width_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        pooled = side // 2 ** len(channels)
        layers += [
            nn.Flatten(),
            nn.Linear(channels[-1] * pooled * pooled, hidden),
            nn.ReLU(),
            nn.Linear(hidden, embedding_dim),
        ]
        self.net = nn.Sequential(*layers)
        self.side = side
        self.embedding_dim = embedding_dim

    def forward(self, rows: Tensor) -> Tensor:
        """Embed a batch of flattened images."""
        return self.net(rows.reshape(-1, 1, self.side, self.side))


def build_encoder(
    kind: EncoderKind, in_features: int, hidden: tuple[int, ...], embedding_dim: int
) -> nn.Module:
    """The encoder ``kind`` (``"mlp"``: :class:`TabularEncoder` with these hidden widths;
    ``"cnn"``: :class:`ConvEncoder` whose fully connected width is ``hidden[-1]``).

    Example:
        >>> build_encoder("mlp", 10, (16,), 8)(torch.randn(2, 10)).shape
        torch.Size([2, 8])
    """
    if kind == "mlp":
        return TabularEncoder(in_features, hidden, embedding_dim)
    if kind == "cnn":
        width = hidden[-1] if hidden else 128
        return ConvEncoder(in_features, hidden=width, embedding_dim=embedding_dim)
    raise ValueError(f"kind must be 'mlp' or 'cnn', got {kind!r}")


def noisy_views(
    rows: Tensor,
    num_views: int = 2,
    noise_std: float = 0.1,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``num_views`` copies of standardised ``rows`` with Gaussian noise, shape (V, B, F).

    Additive noise is the usual view for tabular rows, which have no natural augmentations.

    Example:
        >>> noisy_views(torch.zeros(3, 2)).shape
        torch.Size([2, 3, 2])
    """
    noise = torch.randn((num_views, *rows.shape), generator=generator, dtype=rows.dtype)
    return rows.unsqueeze(0) + noise_std * noise
