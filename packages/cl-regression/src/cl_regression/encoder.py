"""An MLP encoder for tabular rows and the noise views used for contrastive pre-training."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import Tensor, nn


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
