"""AMCL: adaptive multi-head contrastive learning (SimCLR form).

Reference:
    Wang, Koniusz, Gedeon, Zheng. "Adaptive Multi-head Contrastive Learning", ECCV 2024,
    arXiv:2310.05615. Author code: ``LeiWangR/cl`` (``amcl/losses.py``).

C projection heads give C embeddings per view; a shared network gives every pair its own
temperature ``τ(a, b) ∈ [τ_min, τ_max]`` (:class:`cl_core.heads.PairTemperatureNetwork`). The
temperatures are kept away from degenerate values by

    Ω(τ) = (d/2) log τ + 1/τ,        Ω'(τ) = d/(2τ) - 1/τ² = 0  at  τ = 2/d.

Per head and direction (anchor a, positive p, negatives n among the other 2B - 2 embeddings of the
head; TopK = the k most similar negatives)::

    L(a) = -s(a,p)/τ(a,p) + mean_{k∈TopK} s(a,n_k)/τ(a,n_k)
           + β Ω(τ(a,p)) - β Σ_{k∈TopK} [log τ(a,n_k) + 1/τ(a,n_k)]

with ``s`` the cosine similarity. The loss averages over anchors and the two directions and sums
over heads.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.heads import PairTemperatureNetwork
from cl_core.validation import check_embeddings, check_same_shape

__all__ = ["AMCLLoss", "PairTemperatureFn", "amcl_regularizer", "amcl_simclr"]

PairTemperatureFn = Callable[[Tensor, Tensor], Tensor]

CITATION = (
    "Wang, Koniusz, Gedeon, Zheng, Adaptive Multi-head Contrastive Learning, ECCV 2024, "
    "arXiv:2310.05615"
)


def amcl_regularizer(tau: Tensor, dim: int) -> Tensor:
    """Temperature regulariser ``Ω(τ) = (d/2) log τ + 1/τ``, minimised at ``τ = 2/d``.

    Args:
        tau: temperatures, > 0, any shape.
        dim: embedding width d >= 1.

    Returns:
        Ω applied elementwise (same shape as ``tau``).

    Example:
        >>> float(amcl_regularizer(torch.tensor(0.5), dim=4))  # 2 log 0.5 + 2
        0.6137...
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    if not isinstance(tau, Tensor):
        raise TypeError(f"tau must be a torch.Tensor, got {type(tau).__name__}")
    if not bool((tau > 0).all()):
        raise ValueError("tau must be > 0 everywhere")
    return 0.5 * dim * torch.log(tau) + torch.reciprocal(tau)


def _one_direction(
    anchors: Tensor,
    positives: Tensor,
    temperature_fn: PairTemperatureFn,
    top_k: int,
    beta: float,
) -> Tensor:
    """Mean AMCL term for ``anchors -> positives``; both (B, D) and L2-normalised."""
    batch, dim = anchors.shape
    candidates = torch.cat((positives, anchors), dim=0)
    similarity = anchors @ candidates.T
    tau = temperature_fn(anchors, candidates)
    if tau.shape != (batch, 2 * batch):
        raise ValueError(
            f"temperature_fn must return shape {(batch, 2 * batch)}, got {tuple(tau.shape)}"
        )
    rows = torch.arange(batch, device=anchors.device)
    tau_pos = tau[rows, rows]
    positive_term = -similarity[rows, rows] / tau_pos + beta * amcl_regularizer(tau_pos, dim)

    is_negative = torch.ones_like(similarity, dtype=torch.bool)
    is_negative[rows, rows] = False
    is_negative[rows, rows + batch] = False
    neg_similarity = similarity[is_negative].reshape(batch, 2 * batch - 2)
    neg_tau = tau[is_negative].reshape(batch, 2 * batch - 2)
    k = min(top_k, 2 * batch - 2)
    hardest = neg_similarity.topk(k, dim=1).indices
    top_similarity = neg_similarity.gather(1, hardest)
    top_tau = neg_tau.gather(1, hardest)
    negative_term = (top_similarity / top_tau).mean(1) - beta * (
        torch.log(top_tau) + torch.reciprocal(top_tau)
    ).sum(1)
    return (positive_term + negative_term).mean()


def amcl_simclr(
    z1: Tensor,
    z2: Tensor,
    temperature_fn: PairTemperatureFn,
    *,
    top_k: int = 100,
    beta: float = 0.01,
    normalize: bool = True,
) -> Tensor:
    """SimCLR-AMCL loss (Wang et al., ECCV 2024, arXiv:2310.05615), see the module docstring.

    Args:
        z1: first view, one embedding per head.
        z2: second view, one embedding per head.
        temperature_fn: ``(anchors (N, D), candidates (M, D)) -> (N, M)`` pair temperatures,
            all > 0 (e.g. a :class:`cl_core.heads.PairTemperatureNetwork`, shared by the heads).
        top_k: number k of hardest negatives kept per anchor (paper: 100; capped at 2B - 2).
        beta: regulariser weight β >= 0 (paper: 0.01).
        normalize: L2-normalise each embedding first (the similarity is the cosine).

    Returns:
        Scalar loss: summed over heads, averaged over anchors and both directions.

    Shapes:
        z1, z2: (B, C, D) with B >= 2.

    Example:
        >>> net = PairTemperatureNetwork(16)
        >>> amcl_simclr(torch.randn(8, 3, 16), torch.randn(8, 3, 16), net, top_k=5).shape
        torch.Size([])
    """
    check_embeddings(z1, "z1", "(B, C, D)", ndim=3)
    check_embeddings(z2, "z2", "(B, C, D)", ndim=3)
    check_same_shape(z1, z2, "z1", "z2")
    if z1.shape[0] < 2:
        raise ValueError(f"z1 must hold at least 2 instances (B >= 2), got B={z1.shape[0]}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive int, got {top_k!r}")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if not callable(temperature_fn):
        raise TypeError(f"temperature_fn must be callable, got {type(temperature_fn).__name__}")
    if normalize:
        z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    per_head = [
        0.5
        * (
            _one_direction(z1[:, h], z2[:, h], temperature_fn, top_k, beta)
            + _one_direction(z2[:, h], z1[:, h], temperature_fn, top_k, beta)
        )
        for h in range(z1.shape[1])
    ]
    return torch.stack(per_head).sum()


class AMCLLoss(nn.Module):
    """SimCLR-AMCL with its own :class:`PairTemperatureNetwork` (trainable, shared by the heads).

    Args:
        dim: embedding width D of every head.
        top_k: hardest negatives kept per anchor.
        beta: regulariser weight.
        tau_min: lowest temperature.
        tau_max: highest temperature.
        temperature_hidden_dim: hidden width of φ (default ``dim``).

    Shapes:
        ``forward(z1 (B, C, D), z2 (B, C, D)) -> scalar``.

    Example:
        >>> loss = AMCLLoss(dim=16, top_k=5)
        >>> loss(torch.randn(8, 3, 16), torch.randn(8, 3, 16)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self,
        dim: int,
        *,
        top_k: int = 100,
        beta: float = 0.01,
        tau_min: float = 1e-5,
        tau_max: float = 2.0,
        temperature_hidden_dim: int | None = None,
    ) -> None:
        super().__init__()
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.top_k = top_k
        self.beta = beta
        self.temperature = PairTemperatureNetwork(
            dim, hidden_dim=temperature_hidden_dim, tau_min=tau_min, tau_max=tau_max
        )

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        if z1.dim() == 3 and z1.shape[-1] != self.temperature.dim:
            raise ValueError(
                f"z1 must have width D={self.temperature.dim}, got shape {tuple(z1.shape)}"
            )
        return amcl_simclr(z1, z2, self.temperature, top_k=self.top_k, beta=self.beta)
