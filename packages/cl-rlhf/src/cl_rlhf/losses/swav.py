"""SwAV: swapped prediction of Sinkhorn-Knopp cluster codes between two views.

Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster Assignments", 2020,
arXiv:2006.09882. Wang et al. (arXiv:2401.06080, Sec. 4) use it as the second contrastive
auxiliary on a reward model's representations, beside SimCSE.

For L2-normalised embeddings :math:`z^{(1)}, z^{(2)} \\in \\mathbb{R}^{B\\times D}` of two views and
L2-normalised prototypes :math:`C \\in \\mathbb{R}^{K\\times D}`:

- codes :math:`Q^{(v)} = \\mathrm{SinkhornKnopp}(\\exp(z^{(v)} C^\\top / \\varepsilon))`, an
  equipartitioned soft assignment (each sample's row sums to 1, each prototype receives
  :math:`B/K` of the mass), computed without gradient;
- predictions :math:`p^{(v)} = \\mathrm{softmax}(z^{(v)} C^\\top / \\tau)` row-wise;
- swapped prediction, each view predicts the other's codes:

.. math::

    \\mathcal{L} = -\\frac{1}{2B}\\sum_{i=1}^{B}\\sum_{k=1}^{K}
        \\left[q^{(2)}_{ik}\\log p^{(1)}_{ik} + q^{(1)}_{ik}\\log p^{(2)}_{ik}\\right]

This module belongs in ``cl_core.losses`` once a second package needs it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def sinkhorn_knopp(scores: Tensor, *, epsilon: float = 0.05, iterations: int = 3) -> Tensor:
    r"""Equipartitioned soft assignments of B samples to K prototypes (SwAV's codes).

    Starting from :math:`P = \exp(S/\varepsilon)^\top / \sum \exp(S/\varepsilon)` (K, B), each
    iteration scales the rows of P to sum to :math:`1/K` and then its columns to :math:`1/B`;
    the result times B is returned transposed, so every row (sample) sums to 1.

    Args:
        scores: similarities :math:`S = z C^\top` of shape (B, K).
        epsilon: entropic regularisation :math:`\varepsilon > 0` (SwAV uses 0.05).
        iterations: Sinkhorn iterations, >= 1 (SwAV uses 3).

    Returns:
        Codes :math:`Q` of shape (B, K), rows summing to 1, no gradient.

    Example:
        >>> codes = sinkhorn_knopp(torch.randn(8, 4))
        >>> torch.allclose(codes.sum(1), torch.ones(8))
        True
    """
    if scores.dim() != 2 or scores.shape[0] < 1 or scores.shape[1] < 1:
        raise ValueError(f"scores must have shape (B, K) with B, K >= 1, got {tuple(scores.shape)}")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    with torch.no_grad():
        # Log domain: exp(S / epsilon) under- or overflows for small epsilon.
        log_plan = scores.detach().t() / epsilon
        num_prototypes, batch = log_plan.shape
        log_plan = log_plan - torch.logsumexp(log_plan.flatten(), dim=0)
        for _ in range(iterations):
            log_plan = log_plan - torch.logsumexp(log_plan, dim=1, keepdim=True)
            log_plan = log_plan - math.log(num_prototypes)
            log_plan = log_plan - torch.logsumexp(log_plan, dim=0, keepdim=True)
            log_plan = log_plan - math.log(batch)
        return (log_plan.exp() * batch).t()


def swav_loss(
    first: Tensor,
    second: Tensor,
    prototypes: Tensor,
    *,
    temperature: float = 0.1,
    epsilon: float = 0.05,
    iterations: int = 3,
    gather: bool = False,
) -> Tensor:
    r"""Swapped-prediction loss of two views against shared prototypes (module docstring).

    Embeddings and prototypes are L2-normalised here; gradients flow into both views and the
    prototypes through the predictions, never through the codes.

    Args:
        first: embeddings of the first view, shape (B, D).
        second: embeddings of the second view (row i is the same sample as ``first[i]``), (B, D).
        prototypes: prototype vectors, shape (K, D).
        temperature: softmax temperature :math:`\tau > 0` (SwAV uses 0.1).
        epsilon: Sinkhorn regularisation :math:`\varepsilon > 0`.
        iterations: Sinkhorn iterations, >= 1.
        gather: data-parallel training: the codes are the Sinkhorn assignment of the scores of
            every process's batch (equipartition over the global batch, as SwAV does across
            GPUs); each process predicts the codes of its own rows.

    Returns:
        A scalar loss.

    Example:
        >>> z1, z2, c = torch.randn(6, 8), torch.randn(6, 8), torch.randn(3, 8)
        >>> swav_loss(z1, z2, c).shape
        torch.Size([])
    """
    if first.dim() != 2 or first.shape != second.shape:
        raise ValueError(
            "first and second must share one shape (B, D), got "
            f"{tuple(first.shape)} and {tuple(second.shape)}"
        )
    if prototypes.dim() != 2 or prototypes.shape[1] != first.shape[1]:
        raise ValueError(
            f"prototypes must have shape (K, {first.shape[1]}), got {tuple(prototypes.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    anchors = F.normalize(prototypes, dim=1)
    codes_first, codes_second = (
        _codes(F.normalize(view, dim=1) @ anchors.t(), epsilon, iterations, gather)
        for view in (first, second)
    )
    return swapped_prediction_loss(
        first, second, prototypes, codes_first, codes_second, temperature=temperature
    )


def _codes(scores: Tensor, epsilon: float, iterations: int, gather: bool) -> Tensor:
    """Sinkhorn codes of the local rows, over the local or the gathered global batch."""
    if not gather:
        return sinkhorn_knopp(scores, epsilon=epsilon, iterations=iterations)
    from cl_core.distributed import gather_no_grad, rank_offset

    codes = sinkhorn_knopp(gather_no_grad(scores), epsilon=epsilon, iterations=iterations)
    offset = rank_offset(scores.shape[0])
    return codes[offset : offset + scores.shape[0]]


def swapped_prediction_loss(
    first: Tensor,
    second: Tensor,
    prototypes: Tensor,
    codes_first: Tensor,
    codes_second: Tensor,
    *,
    temperature: float = 0.1,
) -> Tensor:
    r"""The swapped-prediction cross-entropy for given codes (the differentiable part of SwAV).

    :math:`-\frac{1}{2B}\sum_i [q^{(2)}_i \cdot \log p^{(1)}_i + q^{(1)}_i \cdot \log p^{(2)}_i]`
    with :math:`p^{(v)} = \mathrm{softmax}(\hat z^{(v)} \hat C^\top / \tau)` on L2-normalised
    rows; the codes are treated as constants.

    Args:
        first: embeddings of the first view, shape (B, D).
        second: embeddings of the second view, shape (B, D).
        prototypes: prototype vectors, shape (K, D).
        codes_first: target codes of the first view, shape (B, K).
        codes_second: target codes of the second view, shape (B, K).
        temperature: softmax temperature :math:`\tau > 0`.

    Returns:
        A scalar loss.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    expected = (first.shape[0], prototypes.shape[0])
    for name, codes in (("codes_first", codes_first), ("codes_second", codes_second)):
        if tuple(codes.shape) != expected:
            raise ValueError(f"{name} must have shape {expected}, got {tuple(codes.shape)}")
    anchors = F.normalize(prototypes, dim=1)
    log_p_first = F.log_softmax(F.normalize(first, dim=1) @ anchors.t() / temperature, dim=1)
    log_p_second = F.log_softmax(F.normalize(second, dim=1) @ anchors.t() / temperature, dim=1)
    swapped = (codes_second.detach() * log_p_first).sum(1)
    swapped = swapped + (codes_first.detach() * log_p_second).sum(1)
    return -swapped.mean() / 2


class SwAVLoss(nn.Module):
    """:func:`swav_loss` with learnable prototypes (initialised at random, normalised in use).

    Args:
        dim: embedding width D.
        num_prototypes: K >= 2.
        temperature: as in :func:`swav_loss`.
        epsilon: as in :func:`swav_loss`.
        iterations: as in :func:`swav_loss`.

    Shapes:
        first, second (B, D) -> scalar.

    Example:
        >>> loss = SwAVLoss(8, num_prototypes=4)
        >>> value = loss(torch.randn(5, 8), torch.randn(5, 8))
        >>> torch.autograd.grad(value, loss.prototypes)[0].shape
        torch.Size([4, 8])
    """

    def __init__(
        self,
        dim: int,
        num_prototypes: int = 32,
        *,
        temperature: float = 0.1,
        epsilon: float = 0.05,
        iterations: int = 3,
    ) -> None:
        super().__init__()
        if dim < 1 or num_prototypes < 2:
            raise ValueError(
                f"dim must be >= 1 and num_prototypes >= 2, got dim={dim}, "
                f"num_prototypes={num_prototypes}"
            )
        self.prototypes = nn.Parameter(torch.randn(num_prototypes, dim))
        self.temperature = temperature
        self.epsilon = epsilon
        self.iterations = iterations

    def forward(self, first: Tensor, second: Tensor, *, gather: bool = False) -> Tensor:
        """The swapped-prediction loss of the two views (``gather``: as in :func:`swav_loss`)."""
        return swav_loss(
            first,
            second,
            self.prototypes,
            temperature=self.temperature,
            epsilon=self.epsilon,
            iterations=self.iterations,
            gather=gather,
        )
