r"""Hard and semi-hard negative selection from an anchor-candidate similarity matrix.

Hard negatives: the most similar non-positive candidates of each anchor, as in the hard
contrastive loss of Wang & Liu ("Understanding the Behaviour of Contrastive Loss", CVPR 2021,
arXiv:2012.09740). Semi-hard negatives: Schroff, Kalenichenko, Philbin, "FaceNet: A Unified
Embedding for Face Recognition and Clustering", CVPR 2015, arXiv:1503.03832.

Both functions return an (N, M) boolean mask, the ``negative_mask`` argument of
:func:`cl_core.losses.masked_logits_loss`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cl_core.validation import (
    check_dense_mask,
    check_embeddings,
    check_positive_float,
)


def hardest_negative_mask(
    similarity: Tensor, k: int, *, exclude_mask: Tensor | None = None
) -> Tensor:
    r"""Mark the ``k`` most similar candidates of each anchor that are not excluded.

    .. math:: H_k(i) = \operatorname{top-}k_{\,j \notin E(i)}\ s_{ij}

    where :math:`E(i)` holds the positives and likely false negatives of anchor :math:`i`
    (``exclude_mask``); they are never selected. A row with fewer than ``k`` eligible candidates
    gets all of them. Ties at the cut-off are broken by ``torch.topk``.

    Args:
        similarity: Anchor-candidate similarities :math:`s_{ij}`, shape (N, M).
        k: Negatives per anchor, 1 <= k <= M.
        exclude_mask: (N, M) bool, True for candidates that must not be negatives (positives,
            the anchor itself, false negatives).

    Returns:
        (N, M) bool mask of the selected negatives.

    Example:
        >>> import torch
        >>> s = torch.tensor([[0.9, 0.5, 0.7, 0.1]])
        >>> hardest_negative_mask(s, 1, exclude_mask=torch.tensor([[True, False, False, False]]))
        tensor([[False, False,  True, False]])
    """
    eligible = _eligible(similarity, exclude_mask)
    _check_k(k, similarity.shape[1], "k")
    return _top_k_of(similarity, eligible, k)


def semi_hard_negative_mask(
    similarity: Tensor,
    positive_similarity: Tensor,
    margin: float,
    *,
    exclude_mask: Tensor | None = None,
    k: int | None = None,
) -> Tensor:
    r"""Mark negatives less similar than the positive but within ``margin`` of it (FaceNet).

    FaceNet's semi-hard condition :math:`d(a, p) < d(a, n) < d(a, p) + \alpha` in similarity
    form:

    .. math:: s_{ip} - \alpha < s_{ij} < s_{ip}

    With ``k`` only the ``k`` most similar semi-hard negatives of each row are kept. A row may
    have none.

    Args:
        similarity: Anchor-candidate similarities, shape (N, M).
        positive_similarity: Similarity :math:`s_{ip}` of each anchor to its positive, shape (N,).
        margin: :math:`\alpha > 0`.
        exclude_mask: (N, M) bool, candidates that must not be negatives (e.g. the positives).
        k: Optional cap on negatives per row, 1 <= k <= M.

    Returns:
        (N, M) bool mask of the selected negatives.

    Example:
        >>> import torch
        >>> s = torch.tensor([[0.9, 0.75, 0.5, 0.85]])
        >>> semi_hard_negative_mask(s, torch.tensor([0.8]), 0.2)
        tensor([[False,  True, False, False]])
    """
    eligible = _eligible(similarity, exclude_mask)
    check_embeddings(
        positive_similarity, "positive_similarity", shape=f"({similarity.shape[0]},)", ndim=1
    )
    if positive_similarity.shape[0] != similarity.shape[0]:
        raise ValueError(
            f"positive_similarity must have shape ({similarity.shape[0]},), got "
            f"{tuple(positive_similarity.shape)}"
        )
    check_positive_float(margin, "margin")
    upper = positive_similarity.unsqueeze(1)
    semi_hard = eligible & (similarity < upper) & (similarity > upper - margin)
    if k is None:
        return semi_hard
    _check_k(k, similarity.shape[1], "k")
    return _top_k_of(similarity, semi_hard, k)


def _eligible(similarity: Tensor, exclude_mask: Tensor | None) -> Tensor:
    check_embeddings(similarity, "similarity", shape="(N, M)")
    if exclude_mask is None:
        return torch.ones_like(similarity, dtype=torch.bool)
    check_dense_mask(exclude_mask, tuple(similarity.shape), "exclude_mask")
    return ~exclude_mask


def _check_k(k: int, num_candidates: int, name: str) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= num_candidates:
        raise ValueError(f"{name} must be an int in [1, M={num_candidates}], got {k!r}")


def _top_k_of(scores: Tensor, eligible: Tensor, k: int) -> Tensor:
    """The k highest-scoring eligible columns of each row (fewer if fewer are eligible)."""
    masked = scores.detach().masked_fill(~eligible, float("-inf"))
    chosen = torch.zeros_like(eligible)
    chosen.scatter_(1, masked.topk(k, dim=1).indices, True)
    return chosen & eligible
