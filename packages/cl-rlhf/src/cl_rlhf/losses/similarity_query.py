"""Kernel contrastive loss on triplet similarity queries (SIRL).

Bobu et al., "SIRL: Similarity-based Implicit Representation Learning", HRI 2023,
arXiv:2301.00810. A person is shown three trajectories and says which two are most alike. With
a feature network :math:`\\phi` and a Gaussian kernel, the probability that pair (a, b) of the
triplet is chosen is

.. math::

    P\\big((a, b) \\mid \\tau_1, \\tau_2, \\tau_3\\big) =
        \\frac{\\exp(-\\lVert\\phi(\\tau_a) - \\phi(\\tau_b)\\rVert^2)}
             {\\sum_{(c, d)} \\exp(-\\lVert\\phi(\\tau_c) - \\phi(\\tau_d)\\rVert^2)},
    \\qquad (c, d) \\in \\{(1,2), (1,3), (2,3)\\}

and :math:`\\phi` minimises the negative log-likelihood of the answers. Similarity is defined by
the person, not by augmentations: features the person ignores get no pull.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: the order of the three pairs of a triplet; an answer is an index into it.
TRIPLET_PAIRS: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2))


def similarity_query_loss(
    first: Tensor, second: Tensor, third: Tensor, answers: Tensor, *, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of "most similar pair" answers under the Gaussian kernel.

    Args:
        first: features :math:`\\phi(\\tau_1)` of the triplets' first items, shape (B, D).
        second: features of the second items, shape (B, D).
        third: features of the third items, shape (B, D).
        answers: int64 (B,) with values in {0, 1, 2}: the chosen pair, indexing
            :data:`TRIPLET_PAIRS` ((1, 2), (1, 3), (2, 3) in one-based terms).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The loss, a scalar or (B,) for ``"none"``.

    Example:
        >>> z = torch.zeros(2, 4)
        >>> round(similarity_query_loss(z, z, z, torch.tensor([0, 2])).item(), 4)  # log 3
        1.0986
    """
    if first.dim() != 2 or first.shape != second.shape or first.shape != third.shape:
        raise ValueError(
            "first, second and third must share one shape (B, D), got "
            f"{tuple(first.shape)}, {tuple(second.shape)} and {tuple(third.shape)}"
        )
    if answers.dtype != torch.int64 or tuple(answers.shape) != (first.shape[0],):
        raise TypeError(
            f"answers must be an int64 tensor of shape ({first.shape[0]},), got "
            f"{answers.dtype} of shape {tuple(answers.shape)}"
        )
    if answers.numel() and not bool(((answers >= 0) & (answers <= 2)).all()):
        raise ValueError(f"answers must lie in {{0, 1, 2}}, got values {answers.unique().tolist()}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    items = (first, second, third)
    logits = torch.stack([-(items[a] - items[b]).pow(2).sum(1) for a, b in TRIPLET_PAIRS], dim=1)
    losses = F.cross_entropy(logits, answers, reduction="none")
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


class SimilarityQueryLoss(nn.Module):
    """:func:`similarity_query_loss` as a module.

    Shapes:
        first, second, third (B, D), answers (B,) -> scalar.

    Example:
        >>> z = torch.randn(3, 2, 5)
        >>> SimilarityQueryLoss()(z[0], z[1], z[2], torch.tensor([1, 0])).shape
        torch.Size([])
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, first: Tensor, second: Tensor, third: Tensor, answers: Tensor) -> Tensor:
        """The loss of the answered triplets."""
        return similarity_query_loss(first, second, third, answers, reduction=self.reduction)
