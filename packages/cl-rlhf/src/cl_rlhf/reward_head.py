"""A small trainable reward head on frozen encoder features: MLP with a scalar output."""

from __future__ import annotations

from torch import Tensor, nn


class RewardHead(nn.Module):
    """Reward :math:`r(x) = w^\\top \\mathrm{Dropout}(\\mathrm{GELU}(W\\,\\mathrm{LN}(f(x)))) + b`.

    ``representation`` gives the hidden layer (the reward model's representation used by the
    contrastive auxiliary); with dropout active, two calls on the same input are two SimCSE views.

    Args:
        in_dim: width D of the encoder features.
        hidden_dim: width H of the hidden layer.
        dropout: dropout probability on the hidden layer, in [0, 1).

    Shapes:
        features (N, D) -> representation (N, H) -> reward (N,).

    Example:
        >>> import torch
        >>> RewardHead(384)(torch.randn(5, 384)).shape
        torch.Size([5])
    """

    def __init__(self, in_dim: int, hidden_dim: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        if in_dim < 1 or hidden_dim < 1:
            raise ValueError(
                f"in_dim and hidden_dim must be >= 1, got in_dim={in_dim}, hidden_dim={hidden_dim}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.in_dim = in_dim
        self.hidden = nn.Sequential(
            nn.LayerNorm(in_dim),
            nn.Linear(in_dim, hidden_dim),
            nn.GELU(),
            nn.Dropout(dropout),
        )
        self.score = nn.Linear(hidden_dim, 1)

    def representation(self, features: Tensor) -> Tensor:
        """Hidden layer of shape (N, H) for features of shape (N, D)."""
        if features.dim() != 2 or features.shape[1] != self.in_dim:
            raise ValueError(
                f"features must have shape (N, {self.in_dim}), got {tuple(features.shape)}"
            )
        return self.hidden(features)

    def forward(self, features: Tensor) -> Tensor:
        """Scalar rewards of shape (N,) for features of shape (N, D)."""
        return self.score(self.representation(features)).squeeze(-1)
