r"""Shuffled group whitening (SGW) for WhitenedCSE.

Zhuo et al., "WhitenedCSE: Whitening-based Contrastive Learning of Sentence Embeddings", ACL 2023.
For a batch X (N, D): draw a random permutation π of the D dimensions, split the permuted dimensions
into G groups of D/G, and ZCA-whiten each group g:

.. math::

    \bar X_g = X_g - \mathrm{mean}(X_g),\quad \Sigma_g = \bar X_g^\top \bar X_g / N + \epsilon I,
    \quad W_g = U \Lambda^{-1/2} U^\top,\quad Y_g = \bar X_g W_g

then undo π. Different permutations give different whitened "views" of the same embeddings. The
paper whitens each view; the released code whitens contiguous thirds of the batch. Here each call
whitens the rows it is given, and :func:`whitened_cse_loss` calls it once per view (the paper's
version).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cl_core.losses import info_nce


def shuffled_group_whitening(
    x: Tensor, num_groups: int, *, eps: float = 1e-5, generator: torch.Generator | None = None
) -> Tensor:
    """Whiten ``x`` within ``num_groups`` random groups of dimensions (see the module docstring).

    Args:
        x: embeddings (N, D), N >= 2, D divisible by ``num_groups``.
        num_groups: G >= 1.
        eps: ridge added to each group covariance.
        generator: source of the dimension permutation.

    Returns:
        The whitened embeddings (N, D), in the original dimension order.

    Example:
        >>> y = shuffled_group_whitening(torch.randn(64, 12), num_groups=3)
        >>> y.shape
        torch.Size([64, 12])
    """
    if not isinstance(x, Tensor) or x.dim() != 2:
        raise ValueError(f"x must be a tensor of shape (N, D), got {getattr(x, 'shape', type(x))}")
    rows, dims = x.shape
    if rows < 2:
        raise ValueError(f"x needs N >= 2 rows to estimate a covariance, got N={rows}")
    if num_groups < 1 or dims % num_groups:
        raise ValueError(f"num_groups must divide D={dims} and be >= 1, got {num_groups}")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    permutation = torch.randperm(dims, generator=generator).to(x.device)
    size = dims // num_groups
    grouped = x[:, permutation].reshape(rows, num_groups, size).transpose(0, 1)
    centred = grouped - grouped.mean(dim=1, keepdim=True)
    covariance = centred.transpose(1, 2) @ centred / rows
    covariance = covariance + eps * torch.eye(size, dtype=x.dtype, device=x.device)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
    inverse_root = (
        eigenvectors @ torch.diag_embed(eigenvalues.rsqrt()) @ eigenvectors.transpose(1, 2)
    )
    whitened = (centred @ inverse_root).transpose(0, 1).reshape(rows, dims)
    return whitened[:, torch.argsort(permutation)]


class ShuffledGroupWhitening(nn.Module):
    """Module form of :func:`shuffled_group_whitening`; the identity in eval mode (training only).

    Example:
        >>> sgw = ShuffledGroupWhitening(num_groups=4)
        >>> sgw(torch.randn(32, 16)).shape
        torch.Size([32, 16])
    """

    def __init__(self, num_groups: int, eps: float = 1e-5) -> None:
        super().__init__()
        if num_groups < 1:
            raise ValueError(f"num_groups must be >= 1, got {num_groups}")
        self.num_groups = num_groups
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """Whiten ``x`` (N, D) in training mode; return it unchanged in eval mode."""
        if not self.training:
            return x
        return shuffled_group_whitening(x, self.num_groups, eps=self.eps)


def whitened_cse_loss(
    z1: Tensor,
    z2: Tensor,
    *more_views: Tensor,
    temperature: float | Tensor = 0.05,
    num_groups: int = 64,
    eps: float = 1e-5,
) -> Tensor:
    r"""WhitenedCSE objective: InfoNCE of the first whitened view against each other whitened view.

    With :math:`w_v = \mathrm{SGW}(z_v)` (a fresh dimension shuffle per view),
    :math:`L = \sum_{v \ge 2} \mathrm{InfoNCE}(w_1, w_v)` with in-batch negatives (the paper uses
    three dropout views: :math:`L = \ell(w_1, w_2) + \ell(w_1, w_3)`).

    Args:
        z1, z2, *more_views: views of the same sentences (B, D) from different dropout masks.
        temperature: :math:`\tau` (0.05 in the paper).
        num_groups: SGW groups G (must divide D).
        eps: SGW covariance ridge.

    Returns:
        A scalar loss.
    """
    anchor = shuffled_group_whitening(z1, num_groups, eps=eps)
    total = z1.new_zeros(())
    for view in (z2, *more_views):
        total = total + info_nce(
            anchor, shuffled_group_whitening(view, num_groups, eps=eps), temperature=temperature
        )
    return total
