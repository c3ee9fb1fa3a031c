"""The hard contrastive loss: InfoNCE whose denominator keeps only each anchor's hardest negatives.

Wang and Liu, "Understanding the Behaviour of Contrastive Loss", CVPR 2021, arXiv:2012.09740.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from cl_core.losses._embeddings import prepared_embeddings
from cl_core.losses._reduction import Reduction
from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import check_reduction, check_same_shape, check_temperature


def hard_negative_info_nce(
    query: Tensor,
    positive: Tensor,
    temperature: float | Tensor = 0.1,
    *,
    top_k: int | None = None,
    top_fraction: float | None = None,
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""In-batch InfoNCE whose denominator keeps the positive and only the K hardest negatives.

    With :math:`s_{ij} = q_i^\top p_j / \tau` on normalised embeddings and :math:`H_K(i)` the K
    in-batch negatives :math:`j \ne i` of largest similarity to :math:`q_i`:

    .. math::

        \ell_i = -\log \frac{e^{s_{ii}}}{e^{s_{ii}} + \sum_{j \in H_K(i)} e^{s_{ij}}}

    Give ``top_k`` (K, clipped to the B - 1 available negatives) or ``top_fraction`` (keep the
    hardest :math:`\lceil f \cdot (B - 1) \rceil` negatives, i.e. those above the
    :math:`\alpha = 1 - f` quantile of the paper). The selection is made on detached similarities
    and receives no gradient. Large :math:`\tau` with a small K keeps uniformity while raising
    tolerance, the paper's remedy for the uniformity-tolerance dilemma. This loss builds a dense
    (B, B) negative mask and therefore has no tiled (``chunk_size``) path.

    Args:
        query: Anchors, shape (B, D), B >= 2.
        positive: Positives, shape (B, D); the other rows are the negatives.
        temperature: :math:`\tau > 0`.
        top_k: Number K >= 1 of hardest negatives kept per anchor.
        top_fraction: Fraction in (0, 1] of negatives kept per anchor (exclusive with ``top_k``).
        normalize: L2-normalise the embeddings first.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (B,) per-anchor losses).

    Returns:
        A scalar, or the (B,) per-anchor losses for ``"none"``.

    Example:
        >>> import torch
        >>> q, p = torch.randn(16, 8), torch.randn(16, 8)
        >>> hard_negative_info_nce(q, p, temperature=0.5, top_k=4).shape
        torch.Size([])
    """
    queries = prepared_embeddings(query, "query", normalize=normalize)
    positives = prepared_embeddings(positive, "positive", normalize=normalize)
    check_same_shape(queries, positives, "query", "positive")
    check_temperature(temperature)
    check_reduction(reduction)
    batch = queries.shape[0]
    if batch < 2:
        raise ValueError(f"query must hold at least 2 rows (B >= 2) for negatives, got B={batch}")
    kept = hardest_negative_count(batch - 1, top_k=top_k, top_fraction=top_fraction)
    diagonal = torch.arange(batch, device=queries.device)
    with torch.no_grad():
        similarity = queries @ positives.T
        similarity[diagonal, diagonal] = float("-inf")
        hardest = similarity.topk(kept, dim=1).indices
    negative_mask = torch.zeros(batch, batch, dtype=torch.bool, device=queries.device)
    negative_mask.scatter_(1, hardest, True)
    return masked_logits_loss(
        queries,
        positives,
        temperature=temperature,
        positive_index=diagonal,
        negative_mask=negative_mask,
        reduction=reduction,
    )


def hardest_negative_count(
    available: int, *, top_k: int | None = None, top_fraction: float | None = None
) -> int:
    """How many of ``available`` negatives to keep, from one of ``top_k`` / ``top_fraction``."""
    if (top_k is None) == (top_fraction is None):
        raise ValueError(
            f"give exactly one of top_k and top_fraction, got {top_k=}, {top_fraction=}"
        )
    if top_k is not None:
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise ValueError(f"top_k must be an int >= 1, got {top_k!r}")
        return min(top_k, available)
    if not (isinstance(top_fraction, int | float) and 0.0 < top_fraction <= 1.0):
        raise ValueError(f"top_fraction must lie in (0, 1], got {top_fraction!r}")
    return max(1, math.ceil(top_fraction * available))


class HardNegativeInfoNCELoss(nn.Module):
    """Module form of :func:`hard_negative_info_nce` (Wang & Liu 2021, arXiv:2012.09740).

    Example:
        >>> import torch
        >>> loss = HardNegativeInfoNCELoss(0.5, top_k=4)(torch.randn(16, 8), torch.randn(16, 8))
    """

    def __init__(
        self,
        temperature: float = 0.1,
        *,
        top_k: int | None = None,
        top_fraction: float | None = None,
        normalize: bool = True,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        check_reduction(reduction)
        hardest_negative_count(1, top_k=top_k, top_fraction=top_fraction)
        self.temperature = temperature
        self.top_k = top_k
        self.top_fraction = top_fraction
        self.normalize = normalize
        self.reduction = reduction

    def forward(self, query: Tensor, positive: Tensor) -> Tensor:
        """Return :func:`hard_negative_info_nce` of (B, D) queries and positives."""
        return hard_negative_info_nce(
            query,
            positive,
            self.temperature,
            top_k=self.top_k,
            top_fraction=self.top_fraction,
            normalize=self.normalize,
            reduction=self.reduction,
        )
