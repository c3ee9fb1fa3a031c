"""SoftCLIP: CLIP with soft targets taken from the target modality's own similarity structure.

References:
    Kumar, Singhal, Kulkarni, Mehta, Jadhav. "Harnessing Shared Relations via Multimodal Mixup
    Contrastive Learning for Multimodal Classification" (M3CoL), TMLR, arXiv:2409.17777 - used after
    the M3Co phase. Author code: ``RaghavSinghal10/M3CoL`` (``model/utils.py``,
    ``soft_clip_loss``). The loss was introduced by Scotti et al., "Reconstructing the Mind's Eye:
    fMRI-to-Image with Contrastive Learning and Diffusion Priors" (MindEye), NeurIPS 2023,
    arXiv:2305.18274.

With ``â, b̂`` the L2-normalised rows of a (predictions) and b (targets)::

    T    = softmax_row(b̂ b̂ᵀ / τ)                       soft targets (rows sum to 1)
    L_ab = -mean_i Σ_j T_ij log softmax_j(â_i · b̂_j / τ)
    L_ba = -mean_i Σ_j T_ij log softmax_j(b̂_i · â_j / τ)
    L    = (L_ab + L_ba) / 2                            τ = 0.125 by default

Gradients flow through the targets T as in the author code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.validation import check_embeddings, check_same_shape, check_temperature

__all__ = ["SoftCLIPLoss", "soft_clip", "soft_clip_targets"]

CITATION = (
    "Kumar, Singhal et al., Harnessing Shared Relations via Multimodal Mixup Contrastive Learning "
    "for Multimodal Classification, TMLR, arXiv:2409.17777; Scotti et al., MindEye, NeurIPS 2023, "
    "arXiv:2305.18274"
)


def _checked_pair(a: Tensor, b: Tensor, temperature: float) -> tuple[Tensor, Tensor]:
    check_embeddings(a, "a")
    check_embeddings(b, "b")
    check_same_shape(a, b, "a", "b")
    check_temperature(temperature)
    a, b = (x.float() if x.dtype in (torch.float16, torch.bfloat16) else x for x in (a, b))
    return F.normalize(a, dim=-1), F.normalize(b, dim=-1)


def soft_clip_targets(b: Tensor, temperature: float = 0.125) -> Tensor:
    """Soft targets ``softmax_row(b̂ b̂ᵀ / τ)``; every row sums to 1.

    Args:
        b: target-modality embeddings, shape (N, D).
        temperature: τ > 0.

    Returns:
        (N, N) row-stochastic matrix.

    Example:
        >>> soft_clip_targets(torch.randn(4, 8)).sum(1)
        tensor([1.0000, 1.0000, 1.0000, 1.0000])
    """
    _, b = _checked_pair(b, b, temperature)
    return torch.softmax(b @ b.T / temperature, dim=-1)


def soft_clip(a: Tensor, b: Tensor, temperature: float = 0.125) -> Tensor:
    """SoftCLIP loss of predictions ``a`` against targets ``b`` (see the module docstring).

    Args:
        a: prediction-modality embeddings.
        b: target-modality embeddings (they also define the soft targets).
        temperature: τ > 0 (M3CoL: 0.125).

    Returns:
        Scalar loss.

    Shapes:
        a, b: (N, D).

    Example:
        >>> soft_clip(torch.randn(8, 16), torch.randn(8, 16)).shape
        torch.Size([])
    """
    a, b = _checked_pair(a, b, temperature)
    targets = torch.softmax(b @ b.T / temperature, dim=-1)
    logits = a @ b.T / temperature
    forward = -(targets * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
    backward = -(targets * torch.log_softmax(logits.T, dim=-1)).sum(-1).mean()
    return (forward + backward) / 2


class SoftCLIPLoss(nn.Module):
    """Module form of :func:`soft_clip`. ``forward(a (N, D), b (N, D)) -> scalar``.

    Example:
        >>> SoftCLIPLoss()(torch.randn(8, 16), torch.randn(8, 16)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(self, temperature: float = 0.125) -> None:
        super().__init__()
        check_temperature(temperature)
        self.temperature = temperature

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return soft_clip(a, b, self.temperature)
