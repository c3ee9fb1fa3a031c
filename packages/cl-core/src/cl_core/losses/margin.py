"""Margin losses: the cosine triplet loss and the pairwise contrastive (siamese) loss.

Triplet: Schroff, Kalenichenko, Philbin, "FaceNet: A Unified Embedding for Face Recognition and
Clustering", CVPR 2015, arXiv:1503.03832; hardest in-batch negative as in Faghri et al., "VSE++:
Improving Visual-Semantic Embeddings with Hard Negatives", BMVC 2018, arXiv:1707.05612.
Contrastive: Hadsell, Chopra, LeCun, "Dimensionality Reduction by Learning an Invariant Mapping",
CVPR 2006 (no arXiv version).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from cl_core.losses._embeddings import prepared_embeddings
from cl_core.losses._reduction import Reduction, reduce_losses
from cl_core.validation import (
    check_choice,
    check_positive_float,
    check_reduction,
    check_same_shape,
    check_tensor_dim,
)

TripletMining = Literal["hardest", "all"]


def triplet_margin(
    anchor: Tensor,
    positive: Tensor,
    margin: float = 0.2,
    *,
    mining: TripletMining = "hardest",
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Cosine triplet loss with the other rows of ``positive`` as in-batch negatives.

    With cosine similarities :math:`s_{ij} = a_i^\top p_j` of normalised rows and hinge terms
    :math:`h_{ij} = \max(0,\; m - s_{ii} + s_{ij})` for :math:`j \ne i`:

    .. math::

        \ell_i = \max_{j \ne i} h_{ij} \;\; (\text{``hardest''}, VSE++), \qquad
        \ell_i = \frac{1}{B - 1} \sum_{j \ne i} h_{ij} \;\; (\text{``all''}).

    Args:
        anchor: Anchors, shape (B, D), B >= 2.
        positive: Positives, shape (B, D); row j != i is a negative of anchor i.
        margin: :math:`m > 0` in cosine units.
        mining: ``"hardest"`` (largest hinge per anchor) or ``"all"`` (mean over all negatives).
        normalize: L2-normalise first (cosine similarity); without it, raw dot products.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (B,) per-anchor losses).

    Returns:
        A scalar, or the (B,) per-anchor losses for ``"none"``.

    Example:
        >>> import torch
        >>> triplet_margin(torch.randn(8, 4), torch.randn(8, 4), margin=0.2).shape
        torch.Size([])
    """
    anchors = prepared_embeddings(anchor, "anchor", normalize=normalize, shape="(B, D)")
    positives = prepared_embeddings(positive, "positive", normalize=normalize, shape="(B, D)")
    check_same_shape(anchors, positives, "anchor", "positive")
    check_positive_float(margin, "margin")
    check_choice(mining, ("hardest", "all"), "mining")
    check_reduction(reduction)
    batch = anchors.shape[0]
    if batch < 2:
        raise ValueError(f"anchor must hold at least 2 rows (B >= 2) for negatives, got B={batch}")
    similarity = anchors @ positives.T
    matched = similarity.diagonal().unsqueeze(1)
    hinge = (margin - matched + similarity).clamp_min(0.0)
    off_diagonal = ~torch.eye(batch, dtype=torch.bool, device=similarity.device)
    if mining == "hardest":
        per_anchor = hinge.masked_fill(~off_diagonal, float("-inf")).amax(dim=1)
    else:
        per_anchor = (hinge * off_diagonal).sum(dim=1) / (batch - 1)
    return reduce_losses(per_anchor, reduction)


def contrastive_margin(
    x1: Tensor,
    x2: Tensor,
    is_positive: Tensor,
    margin: float = 1.0,
    *,
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Hadsell et al.'s contrastive loss on pairs labelled similar or dissimilar.

    With the Euclidean distance :math:`d_i = \lVert x_{1,i} - x_{2,i} \rVert_2` and
    :math:`y_i = 1` for a similar pair:

    .. math::

        \ell_i = \tfrac{1}{2}\, y_i\, d_i^2 + \tfrac{1}{2}\, (1 - y_i) \max(0,\; m - d_i)^2

    (the paper writes :math:`Y = 0` for similar pairs; here ``is_positive`` is True for them).

    Args:
        x1: First items, shape (B, D).
        x2: Second items, shape (B, D).
        is_positive: (B,) bool tensor (or 0/1 integers), True where the pair is similar.
        margin: :math:`m > 0`; dissimilar pairs farther apart than m contribute nothing. With
            ``normalize`` distances lie in [0, 2].
        normalize: L2-normalise first.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (B,) per-pair losses).

    Returns:
        A scalar, or the (B,) per-pair losses for ``"none"``.

    Example:
        >>> import torch
        >>> same = torch.tensor([True, False, True, False])
        >>> contrastive_margin(torch.randn(4, 3), torch.randn(4, 3), same).shape
        torch.Size([])
    """
    first = prepared_embeddings(x1, "x1", normalize=normalize, shape="(B, D)")
    second = prepared_embeddings(x2, "x2", normalize=normalize, shape="(B, D)")
    check_same_shape(first, second, "x1", "x2")
    check_positive_float(margin, "margin")
    check_reduction(reduction)
    similar = _pair_labels(is_positive, first.shape[0]).to(first.device)
    distance = torch.linalg.vector_norm(first - second, dim=1)
    pull = 0.5 * distance.square()
    push = 0.5 * (margin - distance).clamp_min(0.0).square()
    return reduce_losses(torch.where(similar, pull, push), reduction)


def _pair_labels(is_positive: Tensor, batch: int) -> Tensor:
    """Check ``is_positive`` and return it as a (B,) bool tensor."""
    check_tensor_dim(is_positive, 1, "is_positive", f"({batch},)")
    if is_positive.shape[0] != batch:
        raise ValueError(
            f"is_positive must have length {batch}, got shape {tuple(is_positive.shape)}"
        )
    if is_positive.dtype == torch.bool:
        return is_positive
    if is_positive.is_floating_point() or is_positive.is_complex():
        raise TypeError(f"is_positive must be a bool or integer tensor, got {is_positive.dtype}")
    if not bool(((is_positive == 0) | (is_positive == 1)).all()):
        raise ValueError("is_positive must hold only 0 and 1 when given as integers")
    return is_positive.bool()


class CosineTripletMarginLoss(nn.Module):
    """Module form of :func:`triplet_margin` (FaceNet arXiv:1503.03832; VSE++ arXiv:1707.05612).

    Example:
        >>> import torch
        >>> loss = CosineTripletMarginLoss(margin=0.2)(torch.randn(8, 4), torch.randn(8, 4))
    """

    def __init__(
        self,
        margin: float = 0.2,
        *,
        mining: TripletMining = "hardest",
        normalize: bool = True,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        check_positive_float(margin, "margin")
        check_choice(mining, ("hardest", "all"), "mining")
        check_reduction(reduction)
        self.margin = margin
        self.mining = mining
        self.normalize = normalize
        self.reduction = reduction

    def forward(self, anchor: Tensor, positive: Tensor) -> Tensor:
        """Return :func:`triplet_margin` of (B, D) anchors and positives."""
        return triplet_margin(
            anchor,
            positive,
            self.margin,
            mining=self.mining,
            normalize=self.normalize,
            reduction=self.reduction,
        )


class ContrastiveMarginLoss(nn.Module):
    """Module form of :func:`contrastive_margin` (Hadsell, Chopra, LeCun, CVPR 2006).

    Example:
        >>> import torch
        >>> same = torch.tensor([True, False])
        >>> loss = ContrastiveMarginLoss(margin=1.0)(torch.randn(2, 3), torch.randn(2, 3), same)
    """

    def __init__(
        self, margin: float = 1.0, *, normalize: bool = True, reduction: Reduction = "mean"
    ) -> None:
        super().__init__()
        check_positive_float(margin, "margin")
        check_reduction(reduction)
        self.margin = margin
        self.normalize = normalize
        self.reduction = reduction

    def forward(self, x1: Tensor, x2: Tensor, is_positive: Tensor) -> Tensor:
        """Return :func:`contrastive_margin` of (B, D) pairs and their (B,) similarity labels."""
        return contrastive_margin(
            x1,
            x2,
            is_positive,
            self.margin,
            normalize=self.normalize,
            reduction=self.reduction,
        )
