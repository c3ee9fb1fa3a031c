"""HeCo's cross-view InfoNCE with meta-path positives: the plain baseline for MEOW.

Wang et al., "Self-supervised Heterogeneous Graph Neural Network with Co-contrastive Learning",
KDD 2021, arXiv:2105.09111. With view embeddings :math:`u_i, v_j` (normalised), positive sets
:math:`P(i)` (nodes joined by many meta-path instances, ``pos.npz``) and balance :math:`\\lambda`,

.. math::

    \\mathcal{L} = \\lambda\\,\\ell(u, v) + (1 - \\lambda)\\,\\ell(v, u), \\qquad
    \\ell(u, v) = \\frac{1}{N}\\sum_i \\frac{1}{|P(i)|}\\sum_{p \\in P(i)}
        -\\log\\frac{e^{u_i \\cdot v_p / \\tau}}{\\sum_j e^{u_i \\cdot v_j / \\tau}}.

The per-positive average is SupCon's :math:`\\mathcal{L}_{out}` form of the kernel's
:func:`cl_core.losses.masked_logits_loss`; HeCo sums the positives inside the logarithm instead.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from cl_core.losses import masked_logits_loss


def cross_view_info_nce(
    first_view: Tensor,
    second_view: Tensor,
    positive_mask: Tensor,
    *,
    temperature: float,
    balance: float = 0.5,
) -> Tensor:
    """HeCo-style two-direction InfoNCE with a positive mask (formula in the module docstring).

    Args:
        first_view: (N, D) embeddings of one view (normalised here).
        second_view: (N, D) embeddings of the other view.
        positive_mask: (N, N) bool, symmetric in HeCo; every row needs a positive.
        temperature: :math:`\\tau > 0`.
        balance: :math:`\\lambda \\in [0, 1]`.

    Returns:
        Scalar loss.

    Example:
        >>> import torch
        >>> u, v = torch.randn(4, 8), torch.randn(4, 8)
        >>> cross_view_info_nce(u, v, torch.eye(4, dtype=torch.bool), temperature=0.5).shape
        torch.Size([])
    """
    if not 0.0 <= balance <= 1.0:
        raise ValueError(f"balance must lie in [0, 1], got {balance}")
    first = F.normalize(first_view, dim=-1)
    second = F.normalize(second_view, dim=-1)
    forward = masked_logits_loss(
        first, second, temperature=temperature, positive_mask=positive_mask
    )
    backward = masked_logits_loss(
        second, first, temperature=temperature, positive_mask=positive_mask.T
    )
    return balance * forward + (1.0 - balance) * backward
