"""Decoupled contrastive learning: DCL and its von Mises-Fisher weighted form DCLW.

Yeh, Hong, Hsu, Liu, Chen, LeCun, "Decoupled Contrastive Learning", ECCV 2022, arXiv:2110.06848.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from cl_core.distributed import gather_with_grad, gathered_views, rank_offset
from cl_core.losses._embeddings import prepared_embeddings
from cl_core.losses._module import BatchLossModule
from cl_core.losses._reduction import Reduction, reduce_losses
from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import (
    check_positive_float,
    check_reduction,
    check_same_shape,
    check_temperature,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


def dcl(
    z1: Tensor,
    z2: Tensor,
    temperature: float | Tensor = 0.1,
    *,
    weighted: bool = False,
    sigma: float = 0.5,
    normalize: bool = True,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
    gather: bool = False,
    group: ProcessGroup | None = None,
) -> Tensor:
    r"""DCL (``weighted=False``) or DCLW (``weighted=True``), both directions summed.

    With :math:`s(a, b) = a^\top b` on L2-normalised views, one direction is

    .. math::

        L(z_1, z_2)_i = -w_i\, s(z_{1,i}, z_{2,i}) / \tau
            + \log \sum_{j \ne i} \Big[ e^{s(z_{1,i}, z_{1,j}) / \tau}
                                     + e^{s(z_{1,i}, z_{2,j}) / \tau} \Big]

    and the loss of pair :math:`i` is :math:`L(z_1, z_2)_i + L(z_2, z_1)_i`, averaged over the
    batch for ``"mean"``. The positive is removed from the denominator (the decoupling), and the
    denominator holds both the cross-view and the same-view negatives, as in the widely used
    reference code (``raminnakhli/Decoupled-Contrastive-Learning``, from which ``lightly``'s
    ``DCLLoss`` derives). DCL has :math:`w_i = 1`; DCLW uses the negative von Mises-Fisher weight

    .. math:: w_i = 2 - B \cdot \operatorname{softmax}_i\big(s(z_{1,i}, z_{2,i}) / \sigma\big),

    which is computed from the embeddings with gradients flowing through it, as in that code.

    Args:
        z1: First views, shape (B, D), B >= 2.
        z2: Second views, shape (B, D).
        temperature: :math:`\tau > 0` (reference default 0.1).
        weighted: Use the DCLW weight :math:`w_i` instead of 1.
        sigma: :math:`\sigma > 0` of the DCLW weight (reference default 0.5).
        normalize: L2-normalise the embeddings first.
        reduction: ``"mean"`` or ``"sum"`` over pairs, or ``"none"`` for the (B,) per-pair losses.
        chunk_size: Stream over candidate blocks (see ``masked_logits_loss``).
        gather: Data-parallel training: score the 2B local anchors against the views gathered
            from every rank (:func:`cl_core.distributed.gathered_views`); the two directions are
            still summed per local pair, and DCLW's softmax runs over the gathered positive
            similarities of the whole global batch (B is then the global batch size). Gradients
            follow ``cl_core.distributed``'s convention: with ``"mean"`` and equal local batches
            each rank's input gradient is world size times the single-process one, which DDP's
            averaging cancels. A no-op when ``torch.distributed`` is not initialised.
        group: Process group for ``gather``; None is the default group.

    Returns:
        A scalar, or the (B,) per-pair losses (both directions summed) for ``"none"``.

    Example:
        >>> import torch
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> dcl(z1, z2, temperature=0.1, weighted=True).shape
        torch.Size([])
    """
    u1 = prepared_embeddings(z1, "z1", normalize=normalize)
    u2 = prepared_embeddings(z2, "z2", normalize=normalize)
    check_same_shape(u1, u2, "z1", "z2")
    check_temperature(temperature)
    check_positive_float(sigma, "sigma")
    check_reduction(reduction)
    batch = u1.shape[0]
    if batch < 2:
        raise ValueError(
            f"z1 and z2 must hold at least 2 pairs (B >= 2) for negatives, got B={batch}"
        )
    if gather:
        anchors, candidates, positive_index, exclude_index = gathered_views(u1, u2, group)
    else:
        anchors = candidates = torch.cat((u1, u2), dim=0)
        exclude_index = torch.arange(2 * batch, device=anchors.device)
        positive_index = (exclude_index + batch) % (2 * batch)
    per_row = masked_logits_loss(
        anchors,
        candidates,
        temperature=temperature,
        positive_index=positive_index,
        exclude_index=exclude_index,
        positives_in_denominator="none",
        reduction="none",
        chunk_size=chunk_size,
    )
    per_pair = per_row[:batch] + per_row[batch:]
    if weighted:
        positive_similarity = (u1 * u2).sum(dim=1).to(per_pair.dtype)
        if gather:
            # The vMF weight normalises over the global batch: softmax of the gathered
            # similarities, then this rank's slice.
            similarity = gather_with_grad(positive_similarity, group)
            offset = rank_offset(batch, group)
            weight = (2.0 - similarity.shape[0] * torch.softmax(similarity / sigma, dim=0))[
                offset : offset + batch
            ]
        else:
            weight = 2.0 - batch * torch.softmax(positive_similarity / sigma, dim=0)
        per_pair = per_pair + 2.0 * (1.0 - weight) * positive_similarity / temperature
    return reduce_losses(per_pair, reduction)


class DCLLoss(BatchLossModule):
    """Module form of :func:`dcl` with ``weighted=False`` (Yeh et al. 2022, arXiv:2110.06848).

    ``gather=True`` scores local anchors against the views of every rank (see :func:`dcl`).

    Options are those of :class:`~cl_core.losses._module.BatchLossModule`; the temperature
    defaults to 0.1.

    Example:
        >>> import torch
        >>> loss = DCLLoss(temperature=0.1)(torch.randn(8, 16), torch.randn(8, 16))
    """

    default_temperature = 0.1

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Return the DCL loss of two (B, D) views."""
        return dcl(
            z1,
            z2,
            self.temperature,
            **self.loss_options(),
        )


class DCLWLoss(BatchLossModule):
    """Module form of :func:`dcl` with ``weighted=True``: DCLW's von Mises-Fisher positive weight.

    ``gather=True`` scores local anchors against the views of every rank and normalises the
    weight over the global batch (see :func:`dcl`).

    Options are those of :class:`~cl_core.losses._module.BatchLossModule`; the temperature
    defaults to 0.1.

    Example:
        >>> import torch
        >>> loss = DCLWLoss(temperature=0.1, sigma=0.5)(torch.randn(8, 16), torch.randn(8, 16))
    """

    default_temperature = 0.1

    def __init__(
        self, temperature: float | None = None, *, sigma: float = 0.5, **options: Any
    ) -> None:
        super().__init__(temperature, **options)
        check_positive_float(sigma, "sigma")
        self.sigma = sigma

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Return the DCLW loss of two (B, D) views."""
        return dcl(
            z1,
            z2,
            self.temperature,
            weighted=True,
            sigma=self.sigma,
            **self.loss_options(),
        )
