r"""Uniformity of an embedding distribution on the hypersphere.

Wang & Isola, "Understanding Contrastive Representation Learning through Alignment and Uniformity
on the Hypersphere", ICML 2020, arXiv:2005.10242.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cl_core.metrics._accumulator import ConcatenatingMetric
from cl_core.validation import check_embeddings, check_positive_float


def uniformity(z: Tensor, t: float = 2.0) -> Tensor:
    r"""Log of the mean Gaussian potential over distinct pairs (lower is more uniform).

    .. math::

        \mathcal{L}_{uniform} = \log \frac{1}{\binom{N}{2}}
            \sum_{i < j} e^{-t \lVert z_i - z_j \rVert_2^2}

    computed as a ``logsumexp`` over ``torch.pdist`` distances. It is 0 when all points coincide
    (collapse) and decreases as they spread out; the paper uses L2-normalised features and
    :math:`t = 2`.

    Args:
        z: Embeddings, shape (N, D), N >= 2.
        t: Scale :math:`t > 0` of the Gaussian potential.

    Returns:
        A 0-dim tensor in the dtype of ``z``; differentiable.

    Example:
        >>> import torch
        >>> float(uniformity(torch.ones(5, 3)))
        0.0
    """
    check_embeddings(z, "z")
    check_positive_float(t, "t")
    if z.shape[0] < 2:
        raise ValueError(f"z must hold at least 2 embeddings (N >= 2), got shape {tuple(z.shape)}")
    squared_distances = torch.pdist(z).pow(2)
    return torch.logsumexp(-t * squared_distances, dim=0) - math.log(squared_distances.numel())


class Uniformity(ConcatenatingMetric):
    """:func:`uniformity` over every embedding passed to ``update`` since the last ``reset``.

    Args:
        t: Scale :math:`t > 0` of the Gaussian potential.

    Example:
        >>> import torch
        >>> metric = Uniformity()
        >>> metric.update(torch.eye(2))
        >>> metric.update(-torch.eye(2))
        >>> round(float(metric.compute()), 4)
        -4.3963
    """

    def __init__(self, t: float = 2.0) -> None:
        super().__init__()
        check_positive_float(t, "t")
        self.t = t

    def update(self, z: Tensor) -> None:
        """Add a batch of embeddings of shape (N, D)."""
        check_embeddings(z, "z")
        self._store(z)

    def compute(self) -> Tensor:
        """Uniformity of all stored embeddings."""
        (z,) = self._concatenated()
        return uniformity(z, self.t)
