r"""Rank-N-Contrast: contrast samples by their ranks in label distance.

Zha, Cao, Xia, Katabi et al., "Rank-N-Contrast: Learning Continuous Representations for
Regression", NeurIPS 2023, arXiv:2210.01189.

For anchor :math:`i` and every other sample :math:`j` as its positive, the negatives are the samples
at least as far from :math:`i` in label as :math:`j` is,
:math:`S_{ij} = \{k \ne i : |y_i - y_k| \ge |y_i - y_j|\}` (which contains :math:`j`):

.. math::

    \mathcal{L} = \frac{1}{N} \sum_i \frac{1}{N-1} \sum_{j \ne i}
        -\log \frac{e^{s_{ij}/\tau}}{\sum_{k \in S_{ij}} e^{s_{ik}/\tau}}

with similarity :math:`s_{ij} = -\lVert z_i - z_j \rVert_2` (the paper's default, ``"neg_l2"``) or
cosine similarity (``"cosine"``), and :math:`\tau = 2` by default as in the paper's code.

Every positive has its own denominator, which the masked-logits core of cl-core (one denominator
per anchor row) cannot express without N separate calls; instead each row is sorted by label
distance once and all denominators are read off one reversed ``logcumsumexp``, O(N^2 log N).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_regression.validation import check_choice, check_embeddings, check_positive, check_targets

Similarity = Literal["neg_l2", "cosine"]
Reduction = Literal["mean", "sum", "none"]

CITATION = (
    "Zha, Cao, Xia, Katabi et al. Rank-N-Contrast: Learning Continuous Representations for "
    "Regression. NeurIPS 2023, arXiv:2210.01189."
)


def rank_n_contrast_loss(
    embeddings: Tensor,
    targets: Tensor,
    *,
    temperature: float = 2.0,
    similarity: Similarity = "neg_l2",
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Rank-N-Contrast loss of a batch (formula in the module docstring).

    Args:
        embeddings: (N, D) embeddings, N >= 2; views of one sample are separate rows.
        targets: (N,) floating regression targets.
        temperature: :math:`\tau > 0`.
        similarity: ``"neg_l2"`` (negative Euclidean distance) or ``"cosine"``.
        reduction: ``"mean"`` or ``"sum"`` over anchors, or ``"none"`` for the (N,) anchor losses.

    Returns:
        A scalar, or an (N,) tensor for ``reduction="none"``.

    Raises:
        ValueError: bad shapes or values. TypeError: wrong types or dtypes.

    Example:
        >>> rank_n_contrast_loss(torch.randn(6, 3), torch.arange(6.0)).shape
        torch.Size([])
    """
    check_embeddings(embeddings)
    num_samples = embeddings.shape[0]
    check_targets(targets, num_samples)
    check_positive(temperature, "temperature")
    check_choice(similarity, ("neg_l2", "cosine"), "similarity")
    check_choice(reduction, ("mean", "sum", "none"), "reduction")

    logits = _similarities(embeddings, similarity) / temperature
    label_distance = (targets.unsqueeze(1) - targets.unsqueeze(0)).abs().detach()
    eye = torch.eye(num_samples, dtype=torch.bool, device=embeddings.device)
    # -1 sorts each anchor first in its own row, so it is never in another pair's denominator.
    label_distance = label_distance.masked_fill(eye, -1.0)
    sorted_distance, order = label_distance.sort(dim=1)
    sorted_logits = logits.gather(1, order)
    tail_lse = sorted_logits.flip(1).logcumsumexp(dim=1).flip(1)
    first_of_tie = torch.searchsorted(sorted_distance.contiguous(), sorted_distance.contiguous())
    per_pair = tail_lse.gather(1, first_of_tie) - sorted_logits
    per_anchor = per_pair[:, 1:].mean(dim=1)
    if reduction == "mean":
        return per_anchor.mean()
    if reduction == "sum":
        return per_anchor.sum()
    return per_anchor


def _similarities(embeddings: Tensor, similarity: Similarity) -> Tensor:
    """(N, N) similarities; the Euclidean distance is clamped so its gradient stays finite at 0."""
    if similarity == "cosine":
        z = F.normalize(embeddings, dim=1)
        return z @ z.T
    squared = (embeddings.unsqueeze(1) - embeddings.unsqueeze(0)).square().sum(dim=2)
    return -squared.clamp_min(1e-12).sqrt()


class RankNContrastLoss(nn.Module):
    """Module form of :func:`rank_n_contrast_loss`.

    Example:
        >>> RankNContrastLoss()(torch.randn(6, 3), torch.arange(6.0)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(self, *, temperature: float = 2.0, similarity: Similarity = "neg_l2") -> None:
        super().__init__()
        check_positive(temperature, "temperature")
        check_choice(similarity, ("neg_l2", "cosine"), "similarity")
        self.temperature = temperature
        self.similarity: Similarity = similarity

    def forward(self, embeddings: Tensor, targets: Tensor) -> Tensor:
        """Return :func:`rank_n_contrast_loss` with this module's hyper-parameters."""
        return rank_n_contrast_loss(
            embeddings, targets, temperature=self.temperature, similarity=self.similarity
        )
