"""Multi-view contrastive objectives: MV-InfoNCE, MV-DHEL and the pairwise / average baselines.

Reference:
    Koromilas, Georgiou, Bouritsas, Giannakopoulos, Nicolaou, Panagakis. "A Principled Framework for
    Multi-View Contrastive Learning", 2025, arXiv:2507.06979. Author code:
    ``pakoromilas/Multi-View-CL`` (``models/losses.py``).

Notation: ``views`` has shape ``(B, V, D)``; ``U_il`` is the L2-normalised embedding of instance
``i`` in view ``l`` and ``s(x, y) = x·y / temperature``.

MV-InfoNCE (one term per instance, every other row of the batch in the denominator)::

    L = -mean_i log[ 2 Σ_{l<l'} e^{s(U_il, U_il')} / Σ_l Σ_{(j,m)≠(i,l)} e^{s(U_il, U_jm)} ]

MV-DHEL (decoupled: the energy term only compares instances within the same view)::

    L = -mean_i log[ Σ_{l<l'} e^{s(U_il, U_il')} / Π_l Σ_{j≠i} e^{s(U_il, U_jl)} ]

With ``V = 2`` MV-DHEL is the pairwise decoupled hyperspherical energy loss (DHEL).

Baselines from the same paper: PWE averages a two-view loss over all view pairs; AVG scores each
view against the (re-normalised) mean of the other views.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import (
    check_choice,
    check_embeddings,
    check_num_views,
    check_temperature,
)

__all__ = [
    "MVDHELLoss",
    "MVInfoNCELoss",
    "MultiViewAverageLoss",
    "MultiViewPairwiseLoss",
    "PairLoss",
    "mv_average_of_others",
    "mv_dhel",
    "mv_infonce",
    "mv_pairwise_average",
]

PairLoss = Literal["nt_xent", "dhel"]

CITATION = (
    "Koromilas et al., A Principled Framework for Multi-View Contrastive Learning, 2025, "
    "arXiv:2507.06979"
)


def _checked_views(views: Tensor, temperature: float, normalize: bool) -> Tensor:
    """Validate ``views`` (B >= 2, V >= 2, D); upcast half precision; normalise if asked."""
    check_embeddings(views, "views", "(B, V, D)", ndim=3)
    if views.shape[0] < 2:
        raise ValueError(f"views must hold at least 2 instances (B >= 2), got B={views.shape[0]}")
    check_num_views(views.shape[1], "views")
    check_temperature(temperature)
    views = views.float() if views.dtype in (torch.float16, torch.bfloat16) else views
    return F.normalize(views, dim=-1) if normalize else views


def _alignment_logsumexp(views: Tensor, temperature: float) -> Tensor:
    """``log Σ_{l<l'} exp(U_il·U_il' / τ)`` for every instance, shape (B,)."""
    num_views = views.shape[1]
    per_instance = torch.einsum("bld,bmd->blm", views, views) / temperature
    upper = torch.triu_indices(num_views, num_views, offset=1, device=views.device)
    return torch.logsumexp(per_instance[:, upper[0], upper[1]], dim=1)


def mv_infonce(views: Tensor, temperature: float = 0.5, *, normalize: bool = True) -> Tensor:
    """MV-InfoNCE: all views of an instance in one numerator, every other row as a negative.

    ``L = -mean_i log[2 Σ_{l<l'} e^{U_il·U_il'/τ} / Σ_l Σ_{(j,m)≠(i,l)} e^{U_il·U_jm/τ}]``
    (Koromilas et al., 2025, arXiv:2507.06979; CIFAR default τ = 0.5).

    Args:
        views: embeddings of every instance in every view.
        temperature: τ > 0.
        normalize: L2-normalise each embedding first (the paper works on the hypersphere).

    Returns:
        Scalar loss (fp32 for half-precision inputs).

    Shapes:
        views: (B, V, D) with B >= 2 and V >= 2.

    Example:
        >>> views = torch.randn(8, 4, 16)
        >>> mv_infonce(views, temperature=0.5).shape
        torch.Size([])
    """
    views = _checked_views(views, temperature, normalize)
    batch, num_views, dim = views.shape
    rows = views.reshape(batch * num_views, dim)
    logits = rows @ rows.T / temperature
    self_pairs = torch.eye(batch * num_views, dtype=torch.bool, device=views.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))
    log_energy = torch.logsumexp(logits.reshape(batch, num_views * batch * num_views), dim=1)
    log_alignment = math.log(2.0) + _alignment_logsumexp(views, temperature)
    return (log_energy - log_alignment).mean()


def mv_dhel(views: Tensor, temperature: float = 0.5, *, normalize: bool = True) -> Tensor:
    """MV-DHEL: multi-view alignment with a within-view (decoupled) uniformity term.

    ``L = -mean_i log[Σ_{l<l'} e^{U_il·U_il'/τ} / Π_l Σ_{j≠i} e^{U_il·U_jl/τ}]``
    (Koromilas et al., 2025, arXiv:2507.06979). Cost O(B² V D); with V = 2 this is the pairwise
    DHEL loss.

    Args:
        views: embeddings of every instance in every view.
        temperature: τ > 0.
        normalize: L2-normalise each embedding first.

    Returns:
        Scalar loss.

    Shapes:
        views: (B, V, D) with B >= 2 and V >= 2.

    Example:
        >>> mv_dhel(torch.randn(8, 3, 16), temperature=0.5).shape
        torch.Size([])
    """
    views = _checked_views(views, temperature, normalize)
    batch = views.shape[0]
    by_view = views.transpose(0, 1)
    within_view = by_view @ by_view.transpose(1, 2) / temperature
    self_pairs = torch.eye(batch, dtype=torch.bool, device=views.device)
    within_view = within_view.masked_fill(self_pairs, float("-inf"))
    log_energy = torch.logsumexp(within_view, dim=2).sum(dim=0)
    return (log_energy - _alignment_logsumexp(views, temperature)).mean()


def _two_view_loss(
    first: Tensor, second: Tensor, temperature: float, pair_loss: PairLoss
) -> Tensor:
    """A two-view loss on normalised (B, D) embeddings: NT-Xent over 2B rows, or DHEL."""
    if pair_loss == "dhel":
        return mv_dhel(torch.stack((first, second), dim=1), temperature, normalize=False)
    batch = first.shape[0]
    rows = torch.cat((first, second), dim=0)
    index = torch.arange(2 * batch, device=rows.device)
    return masked_logits_loss(
        rows,
        rows,
        temperature=temperature,
        positive_index=(index + batch) % (2 * batch),
        exclude_index=index,
    )


def _check_pair_loss(pair_loss: str) -> None:
    check_choice(pair_loss, ("nt_xent", "dhel"), "pair_loss")


def mv_pairwise_average(
    views: Tensor,
    temperature: float = 0.5,
    *,
    pair_loss: PairLoss = "nt_xent",
    normalize: bool = True,
) -> Tensor:
    """PWE baseline: the mean of a two-view loss over all ``V(V-1)/2`` view pairs.

    ``L = (2 / (V(V-1))) Σ_{l<l'} L_pair(U_·l, U_·l')`` with ``L_pair`` NT-Xent (SimCLR, 2B rows,
    2B-1 candidates each) or DHEL (Koromilas et al., 2025, arXiv:2507.06979).

    Args:
        views: embeddings of every instance in every view.
        temperature: τ > 0.
        pair_loss: ``"nt_xent"`` or ``"dhel"``.
        normalize: L2-normalise each embedding first.

    Returns:
        Scalar loss.

    Shapes:
        views: (B, V, D) with B >= 2 and V >= 2.

    Example:
        >>> mv_pairwise_average(torch.randn(8, 3, 16), pair_loss="dhel").shape
        torch.Size([])
    """
    _check_pair_loss(pair_loss)
    views = _checked_views(views, temperature, normalize)
    pairs = itertools.combinations(range(views.shape[1]), 2)
    losses = [_two_view_loss(views[:, l], views[:, m], temperature, pair_loss) for l, m in pairs]
    return torch.stack(losses).mean()


def mv_average_of_others(
    views: Tensor,
    temperature: float = 0.5,
    *,
    pair_loss: PairLoss = "nt_xent",
    normalize: bool = True,
) -> Tensor:
    """AVG baseline: each view against the re-normalised mean of the other views.

    ``L = (1/V) Σ_l L_pair(U_·l, normalise(mean_{m≠l} U_·m))`` (Koromilas et al., 2025,
    arXiv:2507.06979). The mean is re-normalised so both sides live on the hypersphere.

    Args:
        views: embeddings of every instance in every view.
        temperature: τ > 0.
        pair_loss: ``"nt_xent"`` or ``"dhel"``.
        normalize: L2-normalise each embedding first.

    Returns:
        Scalar loss.

    Shapes:
        views: (B, V, D) with B >= 2 and V >= 2.

    Example:
        >>> mv_average_of_others(torch.randn(8, 3, 16)).shape
        torch.Size([])
    """
    _check_pair_loss(pair_loss)
    views = _checked_views(views, temperature, normalize)
    num_views = views.shape[1]
    total = views.sum(dim=1)
    losses = [
        _two_view_loss(
            views[:, l],
            F.normalize((total - views[:, l]) / (num_views - 1), dim=-1),
            temperature,
            pair_loss,
        )
        for l in range(num_views)
    ]
    return torch.stack(losses).mean()


class MVInfoNCELoss(nn.Module):
    """Module form of :func:`mv_infonce`. ``forward(views (B, V, D)) -> scalar``.

    Example:
        >>> MVInfoNCELoss(temperature=0.5)(torch.randn(8, 4, 16)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(self, temperature: float = 0.5, *, normalize: bool = True) -> None:
        super().__init__()
        check_temperature(temperature)
        self.temperature = temperature
        self.normalize = normalize

    def forward(self, views: Tensor) -> Tensor:
        return mv_infonce(views, self.temperature, normalize=self.normalize)


class MVDHELLoss(nn.Module):
    """Module form of :func:`mv_dhel`. ``forward(views (B, V, D)) -> scalar``.

    Example:
        >>> MVDHELLoss(temperature=0.5)(torch.randn(8, 4, 16)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(self, temperature: float = 0.5, *, normalize: bool = True) -> None:
        super().__init__()
        check_temperature(temperature)
        self.temperature = temperature
        self.normalize = normalize

    def forward(self, views: Tensor) -> Tensor:
        return mv_dhel(views, self.temperature, normalize=self.normalize)


class MultiViewPairwiseLoss(nn.Module):
    """Module form of :func:`mv_pairwise_average` (PWE baseline).

    Example:
        >>> MultiViewPairwiseLoss(pair_loss="dhel")(torch.randn(8, 3, 16)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self, temperature: float = 0.5, *, pair_loss: PairLoss = "nt_xent", normalize: bool = True
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        _check_pair_loss(pair_loss)
        self.temperature = temperature
        self.pair_loss: PairLoss = pair_loss
        self.normalize = normalize

    def forward(self, views: Tensor) -> Tensor:
        return mv_pairwise_average(
            views, self.temperature, pair_loss=self.pair_loss, normalize=self.normalize
        )


class MultiViewAverageLoss(nn.Module):
    """Module form of :func:`mv_average_of_others` (AVG baseline).

    Example:
        >>> MultiViewAverageLoss()(torch.randn(8, 3, 16)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self, temperature: float = 0.5, *, pair_loss: PairLoss = "nt_xent", normalize: bool = True
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        _check_pair_loss(pair_loss)
        self.temperature = temperature
        self.pair_loss: PairLoss = pair_loss
        self.normalize = normalize

    def forward(self, views: Tensor) -> Tensor:
        return mv_average_of_others(
            views, self.temperature, pair_loss=self.pair_loss, normalize=self.normalize
        )
