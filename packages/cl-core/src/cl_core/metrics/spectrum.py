r"""Singular spectrum and effective rank of an embedding matrix (dimensional-collapse diagnostics).

Effective rank: Roy & Vetterli, "The effective rank: a measure of effective dimensionality",
EUSIPCO 2007. Spectrum plots of collapse: Jing, Vincent, LeCun, Tian, "Understanding Dimensional
Collapse in Contrastive Self-supervised Learning", ICLR 2022, arXiv:2110.09348.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cl_core.metrics._accumulator import ConcatenatingMetric
from cl_core.validation import check_embeddings


def singular_spectrum(z: Tensor, *, center: bool = False) -> Tensor:
    r"""Singular values of the embedding matrix, largest first.

    With ``center=True`` the column means are removed first, so the squared values are
    :math:`(N - 1)` times the eigenvalues of the embedding covariance: the spectrum Jing et al. plot
    (on a log scale) to show dimensional collapse as a tail of vanishing values.

    Args:
        z: Embeddings, shape (N, D).
        center: Subtract the mean embedding before the decomposition.

    Returns:
        Shape (min(N, D),), non-negative and non-increasing, in the dtype of ``z``.

    Example:
        >>> import torch
        >>> singular_spectrum(torch.diag(torch.tensor([3.0, 1.0, 2.0])))
        tensor([3., 2., 1.])
    """
    check_embeddings(z, "z")
    if center:
        z = z - z.mean(dim=0, keepdim=True)
    return torch.linalg.svdvals(z)


def effective_rank(z: Tensor, *, center: bool = False) -> Tensor:
    r"""Effective rank: the exponential of the entropy of the normalised singular values.

    .. math:: \operatorname{erank}(Z) = \exp\Big(-\sum_k p_k \log p_k\Big), \qquad
              p_k = \frac{\sigma_k}{\sum_j \sigma_j}

    with :math:`0 \log 0 = 0`. It lies in :math:`[1, \min(N, D)]`: 1 for a rank-1 matrix and
    :math:`d` for a matrix with :math:`d` equal non-zero singular values (e.g. the identity).

    Args:
        z: Embeddings, shape (N, D), not all zero.
        center: Subtract the mean embedding first (the covariance spectrum).

    Returns:
        A 0-dim tensor in the dtype of ``z``.

    Raises:
        ValueError: Every singular value is zero (the effective rank is undefined).

    Example:
        >>> import torch
        >>> float(effective_rank(torch.eye(4)))
        4.0
    """
    spectrum = singular_spectrum(z, center=center)
    total = spectrum.sum()
    if not bool(total > 0):
        raise ValueError(
            "z must have at least one non-zero singular value"
            f"{' after centring' if center else ''}; got an all-zero spectrum"
        )
    probabilities = spectrum / total
    return torch.exp(torch.special.entr(probabilities).sum())


class EffectiveRank(ConcatenatingMetric):
    """:func:`effective_rank` of every embedding passed to ``update`` since the last ``reset``.

    Args:
        center: Subtract the mean embedding first.

    Example:
        >>> import torch
        >>> metric = EffectiveRank()
        >>> metric.update(torch.eye(3)[:2])
        >>> metric.update(torch.eye(3)[2:])
        >>> round(float(metric.compute()), 4)
        3.0
    """

    def __init__(self, *, center: bool = False) -> None:
        super().__init__()
        self.center = center

    def update(self, z: Tensor) -> None:
        """Add a batch of embeddings of shape (N, D)."""
        check_embeddings(z, "z")
        self._store(z)

    def compute(self) -> Tensor:
        """Effective rank of all stored embeddings."""
        (z,) = self._concatenated()
        return effective_rank(z, center=self.center)
