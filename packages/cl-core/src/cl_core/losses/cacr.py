"""CACR: contrastive attraction and contrastive repulsion.

Reference:
    Zheng, Chen, Yao, Yang, Li, Zhang, Zhang, Tsang, Zhou, Zhou. "Contrastive Attraction and
    Contrastive Repulsion for Representation Learning", TMLR 2023, arXiv:2105.03746. Author code:
    ``JegZheng/CACR-SSL`` (``small_scale_experiments/losses/__init__.py``).

``views`` has shape ``(B, V, D)``: V augmented views of B instances, ``z_{x,i}`` is view x of
instance i. Both terms are expectations of a cost under a conditional transport plan (a softmax).

Contrastive attraction (far positives weigh more)::

    c_{x,y,i} = α ‖z_{x,i} - z_{y,i}‖²                     (y ≠ x)
    π_{x,y,i} = softmax_y(τ⁺ ‖z_{x,i} - z_{y,i}‖²)
    L_CA      = mean_x mean_i Σ_y π_{x,y,i} c_{x,y,i}

Contrastive repulsion (close negatives weigh more), over view pairs x < y::

    C_{ij}  = -β ‖z_{x,i} - z_{y,j}‖²                      (j ≠ i)
    π_{ij}  = softmax_j(τ⁻ C_{ij} / β)
    L_CR    = mean_{x<y} mean_i Σ_j π_{ij} C_{ij}

``L = L_CA + L_CR``. The debiased repulsion replaces ``Σ_j π C`` by
``(Σ_j π C - τ_plus ‖z_{x,i} - z_{y,i}‖²) / (1 - τ_plus)``, as in the author code.
Unlike the author code, nothing here is tied to CUDA: every mask is built on the input's device.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.validation import check_embeddings, check_num_views, check_positive_float

__all__ = [
    "CACRLoss",
    "cacr",
    "cacr_attraction",
    "cacr_repulsion",
    "cacr_transport_weights",
]

CITATION = (
    "Zheng et al., Contrastive Attraction and Contrastive Repulsion for Representation Learning, "
    "TMLR 2023, arXiv:2105.03746"
)


def _checked_views(views: Tensor, normalize: bool) -> Tensor:
    check_embeddings(views, "views", "(B, V, D)", ndim=3)
    if views.shape[0] < 2:
        raise ValueError(f"views must hold at least 2 instances (B >= 2), got B={views.shape[0]}")
    check_num_views(views.shape[1], "views")
    views = views.float() if views.dtype in (torch.float16, torch.bfloat16) else views
    return F.normalize(views, dim=-1) if normalize else views


def _positive_sq_distances(views: Tensor) -> Tensor:
    """``‖z_{x,i} - z_{y,i}‖²`` for every query view x and other view y: shape (B, V, V-1)."""
    num_views = views.shape[1]
    diffs = views.unsqueeze(2) - views.unsqueeze(1)
    sq = diffs.pow(2).sum(-1)
    others = ~torch.eye(num_views, dtype=torch.bool, device=views.device)
    return sq[:, others].reshape(views.shape[0], num_views, num_views - 1)


def _negative_sq_distances(first: Tensor, second: Tensor) -> Tensor:
    """``‖first_i - second_j‖²`` for j ≠ i: shape (B, B-1)."""
    batch = first.shape[0]
    sq = (first.unsqueeze(1) - second.unsqueeze(0)).pow(2).sum(-1)
    others = ~torch.eye(batch, dtype=torch.bool, device=first.device)
    return sq[others].reshape(batch, batch - 1)


def cacr_transport_weights(
    views: Tensor,
    *,
    tau_pos: float = 1.0,
    tau_neg: float = 1.0,
    normalize: bool = True,
) -> tuple[Tensor, Tensor]:
    """The conditional transport plans of CACR (each row sums to 1).

    Args:
        views: V views of B instances.
        tau_pos: τ⁺ > 0, sharpness of the attraction plan ``softmax_y(τ⁺ ‖z_x - z_y‖²)``.
        tau_neg: τ⁻ > 0, sharpness of the repulsion plan ``softmax_j(-τ⁻ ‖z_{x,i} - z_{y,j}‖²)``.
        normalize: L2-normalise each embedding first.

    Returns:
        ``(attraction, repulsion)``: attraction weights of shape (B, V, V-1) (query view, other
        views) and repulsion weights of shape (P, B, B-1) for the ``P = V(V-1)/2`` view pairs
        x < y in lexicographic order.

    Example:
        >>> attraction, repulsion = cacr_transport_weights(torch.randn(6, 3, 8))
        >>> attraction.shape, repulsion.shape
        (torch.Size([6, 3, 2]), torch.Size([3, 6, 5]))
    """
    check_positive_float(tau_pos, "tau_pos")
    check_positive_float(tau_neg, "tau_neg")
    views = _checked_views(views, normalize)
    attraction = torch.softmax(tau_pos * _positive_sq_distances(views), dim=-1)
    pairs = itertools.combinations(range(views.shape[1]), 2)
    repulsion = torch.stack(
        [
            torch.softmax(-tau_neg * _negative_sq_distances(views[:, x], views[:, y]), dim=-1)
            for x, y in pairs
        ]
    )
    return attraction, repulsion


def cacr_attraction(
    views: Tensor,
    *,
    alpha: float = 1.0,
    tau_pos: float = 1.0,
    weighted: bool = True,
    normalize: bool = True,
) -> Tensor:
    """Contrastive attraction ``L_CA = mean_x mean_i Σ_y π_{x,y,i} α ‖z_{x,i} - z_{y,i}‖²``.

    Args:
        views: V views of B instances.
        alpha: α > 0, scale of the positive cost.
        tau_pos: τ⁺ > 0; larger values put more weight on the farthest positive.
        weighted: use the plan π; ``False`` is the ``without_w1`` ablation (uniform weights).
        normalize: L2-normalise each embedding first.

    Returns:
        Scalar loss.

    Shapes:
        views: (B, V, D), B >= 2, V >= 2.

    Example:
        >>> cacr_attraction(torch.randn(6, 3, 8)).shape
        torch.Size([])
    """
    check_positive_float(alpha, "alpha")
    check_positive_float(tau_pos, "tau_pos")
    views = _checked_views(views, normalize)
    sq = _positive_sq_distances(views)
    if weighted:
        weights = torch.softmax(tau_pos * sq, dim=-1)
    else:
        weights = torch.full_like(sq, 1.0 / sq.shape[-1])
    return alpha * (weights * sq).sum(-1).mean()


def cacr_repulsion(
    views: Tensor,
    *,
    beta: float = 1.0,
    tau_neg: float = 1.0,
    weighted: bool = True,
    debiased: bool = False,
    tau_plus: float = 0.1,
    normalize: bool = True,
) -> Tensor:
    """Contrastive repulsion ``L_CR = mean_{x<y} mean_i Σ_{j≠i} π_ij (-β ‖z_{x,i} - z_{y,j}‖²)``.

    Args:
        views: V views of B instances.
        beta: β > 0, scale of the negative cost.
        tau_neg: τ⁻ > 0; larger values put more weight on the closest negatives.
        weighted: use the plan π; ``False`` is the ``without_w2`` ablation (uniform weights).
        debiased: subtract the positive-pair cost with class prior ``tau_plus`` as in the
            author code: ``(Σ_j π C - τ_plus ‖z_{x,i} - z_{y,i}‖²) / (1 - τ_plus)``.
        tau_plus: class prior in [0, 1) for the debiased variant.
        normalize: L2-normalise each embedding first.

    Returns:
        Scalar loss (negative: repulsion lowers it by spreading the batch).

    Shapes:
        views: (B, V, D), B >= 2, V >= 2.

    Example:
        >>> cacr_repulsion(torch.randn(6, 3, 8)).shape
        torch.Size([])
    """
    check_positive_float(beta, "beta")
    check_positive_float(tau_neg, "tau_neg")
    if not 0.0 <= tau_plus < 1.0:
        raise ValueError(f"tau_plus must lie in [0, 1), got {tau_plus}")
    views = _checked_views(views, normalize)
    losses = []
    for x, y in itertools.combinations(range(views.shape[1]), 2):
        sq = _negative_sq_distances(views[:, x], views[:, y])
        if weighted:
            weights = torch.softmax(-tau_neg * sq, dim=-1)
        else:
            weights = torch.full_like(sq, 1.0 / sq.shape[-1])
        per_instance = -beta * (weights * sq).sum(-1)
        if debiased:
            positive_sq = (views[:, x] - views[:, y]).pow(2).sum(-1)
            per_instance = (per_instance - tau_plus * positive_sq) / (1.0 - tau_plus)
        losses.append(per_instance.mean())
    return torch.stack(losses).mean()


def cacr(
    views: Tensor,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    tau_pos: float = 1.0,
    tau_neg: float = 1.0,
    weighted_attraction: bool = True,
    weighted_repulsion: bool = True,
    debiased: bool = False,
    tau_plus: float = 0.1,
    normalize: bool = True,
) -> Tensor:
    """CACR loss ``L = L_CA + L_CR`` (Zheng et al., TMLR 2023, arXiv:2105.03746).

    Defaults follow the author code (α = β = 1, τ⁺ = τ⁻ = 1); the paper uses τ⁻ = 0.9 on
    CIFAR-10 and 2.0 on CIFAR-100 / STL-10, with V = 5 views (4 positives per query).

    Args:
        views: V augmented views of B instances.
        alpha: positive cost scale α > 0.
        beta: negative cost scale β > 0.
        tau_pos: attraction plan sharpness τ⁺ > 0.
        tau_neg: repulsion plan sharpness τ⁻ > 0.
        weighted_attraction: ``False`` gives the ``without_w1`` ablation.
        weighted_repulsion: ``False`` gives the ``without_w2`` ablation.
        debiased: debiased repulsion (see :func:`cacr_repulsion`).
        tau_plus: class prior of the debiased repulsion, in [0, 1).
        normalize: L2-normalise each embedding first (the paper works on the hypersphere).

    Returns:
        Scalar loss.

    Shapes:
        views: (B, V, D), B >= 2, V >= 2.

    Example:
        >>> views = torch.randn(16, 5, 32, requires_grad=True)
        >>> cacr(views, tau_neg=0.9).backward()
    """
    attraction = cacr_attraction(
        views, alpha=alpha, tau_pos=tau_pos, weighted=weighted_attraction, normalize=normalize
    )
    repulsion = cacr_repulsion(
        views,
        beta=beta,
        tau_neg=tau_neg,
        weighted=weighted_repulsion,
        debiased=debiased,
        tau_plus=tau_plus,
        normalize=normalize,
    )
    return attraction + repulsion


class CACRLoss(nn.Module):
    """Module form of :func:`cacr`. ``forward(views (B, V, D)) -> scalar``.

    Example:
        >>> CACRLoss(tau_neg=0.9)(torch.randn(16, 5, 32)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        beta: float = 1.0,
        tau_pos: float = 1.0,
        tau_neg: float = 1.0,
        weighted_attraction: bool = True,
        weighted_repulsion: bool = True,
        debiased: bool = False,
        tau_plus: float = 0.1,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        for value, name in ((alpha, "alpha"), (beta, "beta"), (tau_pos, "tau_pos")):
            check_positive_float(value, name)
        check_positive_float(tau_neg, "tau_neg")
        if not 0.0 <= tau_plus < 1.0:
            raise ValueError(f"tau_plus must lie in [0, 1), got {tau_plus}")
        self.alpha = alpha
        self.beta = beta
        self.tau_pos = tau_pos
        self.tau_neg = tau_neg
        self.weighted_attraction = weighted_attraction
        self.weighted_repulsion = weighted_repulsion
        self.debiased = debiased
        self.tau_plus = tau_plus
        self.normalize = normalize

    def forward(self, views: Tensor) -> Tensor:
        return cacr(
            views,
            alpha=self.alpha,
            beta=self.beta,
            tau_pos=self.tau_pos,
            tau_neg=self.tau_neg,
            weighted_attraction=self.weighted_attraction,
            weighted_repulsion=self.weighted_repulsion,
            debiased=self.debiased,
            tau_plus=self.tau_plus,
            normalize=self.normalize,
        )
