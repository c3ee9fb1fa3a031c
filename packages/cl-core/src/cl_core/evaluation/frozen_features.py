"""Features of a frozen encoder: eval mode, no gradients, in batches, the mode restored after."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor, nn


def frozen_features(encoder: nn.Module, inputs: Tensor, batch_size: int = 1024) -> Tensor:
    """``encoder(inputs)`` computed in batches in eval mode without gradients.

    The encoder's training flag is restored afterwards, so this can run in the middle of
    training (e.g. to fit a probe between epochs).

    Args:
        encoder: any module mapping a batch (B, ...) to features (B, D).
        inputs: (N, ...) inputs, N >= 1.
        batch_size: rows per forward pass, >= 1.

    Returns:
        (N, D) features, detached.

    Example:
        >>> import torch
        >>> frozen_features(torch.nn.Linear(3, 2), torch.randn(5, 3), batch_size=2).shape
        torch.Size([5, 2])
    """
    import torch

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1 or len(inputs) == 0:
        raise ValueError("inputs must be a tensor with at least one row")
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            return torch.cat([encoder(chunk) for chunk in inputs.split(batch_size)])
    finally:
        encoder.train(was_training)
