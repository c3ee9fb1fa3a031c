r"""Alignment of positive pairs.

Wang & Isola, "Understanding Contrastive Representation Learning through Alignment and Uniformity
on the Hypersphere", ICML 2020, arXiv:2005.10242.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cl_core.validation import check_embeddings, check_positive_float, check_same_shape


def alignment(z1: Tensor, z2: Tensor, alpha: float = 2.0) -> Tensor:
    r"""Mean distance between the embeddings of positive pairs (lower is better aligned).

    .. math::

        \mathcal{L}_{align} = \mathbb{E}_{(x, y) \sim p_{pos}} \lVert f(x) - f(y) \rVert_2^{\alpha}

    The paper evaluates it on L2-normalised features (then it lies in :math:`[0, 2^{\alpha}]`);
    normalise before calling if your embeddings are not on the unit sphere.

    Args:
        z1: Embeddings of the first element of each pair, shape (N, D).
        z2: Embeddings of the second element of each pair, shape (N, D).
        alpha: Exponent :math:`\alpha > 0` (the paper uses 2).

    Returns:
        A 0-dim tensor in the dtype of the inputs; differentiable.

    Example:
        >>> import torch
        >>> z = torch.nn.functional.normalize(torch.randn(8, 4), dim=1)
        >>> float(alignment(z, z))
        0.0
    """
    check_embeddings(z1, "z1")
    check_embeddings(z2, "z2")
    check_same_shape(z1, z2, "z1", "z2")
    check_positive_float(alpha, "alpha")
    return torch.linalg.vector_norm(z1 - z2, dim=1).pow(alpha).mean()


class Alignment(nn.Module):
    """Streaming :func:`alignment`: sums :math:`\\lVert z_1 - z_2 \\rVert^\\alpha` over batches.

    Args:
        alpha: Exponent :math:`\\alpha > 0`.

    Example:
        >>> import torch
        >>> metric = Alignment()
        >>> metric.update(torch.zeros(3, 2), torch.ones(3, 2))
        >>> round(float(metric.compute()), 4)
        2.0
    """

    total: Tensor
    count: Tensor

    def __init__(self, alpha: float = 2.0) -> None:
        super().__init__()
        check_positive_float(alpha, "alpha")
        self.alpha = alpha
        self.register_buffer("total", torch.zeros((), dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self, z1: Tensor, z2: Tensor) -> None:
        """Add a batch of N positive pairs, each of shape (N, D)."""
        batch_mean = alignment(z1, z2, self.alpha)
        self.total += batch_mean.double() * z1.shape[0]
        self.count += z1.shape[0]

    def compute(self) -> Tensor:
        """The alignment over every pair seen since the last ``reset``."""
        if int(self.count) == 0:
            raise RuntimeError("Alignment.compute() called before any update()")
        return self.total / self.count

    def reset(self) -> None:
        """Forget every pair seen so far."""
        self.total.zero_()
        self.count.zero_()
