"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR.

Chen, Kornblith, Norouzi, Hinton, "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020, arXiv:2002.05709.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from cl_core.distributed import gathered_views
from cl_core.losses._embeddings import prepared_embeddings
from cl_core.losses._module import BatchLossModule
from cl_core.losses._reduction import Reduction
from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import (
    check_reduction,
    check_same_shape,
    check_temperature,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


def nt_xent(
    z1: Tensor,
    z2: Tensor,
    temperature: float | Tensor = 0.5,
    *,
    normalize: bool = True,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
    gather: bool = False,
    group: ProcessGroup | None = None,
) -> Tensor:
    r"""SimCLR's NT-Xent loss over the 2N views of a batch of N pairs.

    Stack the views as :math:`u = [z_1; z_2]` (2N rows, L2-normalised). Each row :math:`k` has one
    positive, the other view of the same instance :math:`k^+ = (k + N) \bmod 2N`, and the other
    2N - 2 rows as negatives; its own similarity is excluded:

    .. math::

        \ell_k = -\log \frac{\exp(u_k^\top u_{k^+} / \tau)}
                            {\sum_{j \ne k} \exp(u_k^\top u_j / \tau)},
        \qquad \mathcal{L} = \frac{1}{2N} \sum_{k=1}^{2N} \ell_k .

    Args:
        z1: First views, shape (N, D).
        z2: Second views, shape (N, D); row i is the positive of row i of ``z1``.
        temperature: :math:`\tau > 0` (the SimCLR paper sweeps 0.05-1.0; 0.5 is a default).
        normalize: L2-normalise the embeddings first (cosine similarity, as in the paper).
        reduction: ``"mean"`` (the paper's average over 2N rows), ``"sum"`` or ``"none"``.
        chunk_size: Stream over candidate blocks of this size (see ``masked_logits_loss``).
        gather: Data-parallel training: score the 2N local anchors against the views gathered
            from every rank (:func:`cl_core.distributed.gathered_views`), so each anchor keeps its
            row of the global-batch loss. Gradients follow ``cl_core.distributed``'s convention:
            with ``"mean"`` and equal local batches each rank's input gradient is world size
            times the single-process one, which DDP's averaging cancels. A no-op when
            ``torch.distributed`` is not initialised.
        group: Process group for ``gather``; None is the default group.

    Returns:
        A scalar, or for ``"none"`` the (2N,) per-row losses: rows 0..N-1 anchor on ``z1``, rows
        N..2N-1 on ``z2`` (local rows under ``gather``).

    Example:
        >>> import torch
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> nt_xent(z1, z2, temperature=0.5).shape
        torch.Size([])
    """
    u1 = prepared_embeddings(z1, "z1", normalize=normalize)
    u2 = prepared_embeddings(z2, "z2", normalize=normalize)
    check_same_shape(u1, u2, "z1", "z2")
    check_temperature(temperature)
    check_reduction(reduction)
    if gather:
        anchors, candidates, positive_index, exclude_index = gathered_views(u1, u2, group)
    else:
        batch = u1.shape[0]
        anchors = candidates = torch.cat((u1, u2), dim=0)
        exclude_index = torch.arange(2 * batch, device=anchors.device)
        positive_index = (exclude_index + batch) % (2 * batch)
    return masked_logits_loss(
        anchors,
        candidates,
        temperature=temperature,
        positive_index=positive_index,
        exclude_index=exclude_index,
        reduction=reduction,
        chunk_size=chunk_size,
    )


class NTXentLoss(BatchLossModule):
    """Module form of :func:`nt_xent` (SimCLR, arXiv:2002.05709), holding its hyper-parameters.

    ``gather=True`` scores local anchors against the views of every rank (see :func:`nt_xent`).

    Options are those of :class:`~cl_core.losses._module.BatchLossModule`; the temperature
    defaults to 0.5.

    Example:
        >>> import torch
        >>> loss = NTXentLoss(temperature=0.5)(torch.randn(8, 16), torch.randn(8, 16))
    """

    default_temperature = 0.5

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Return :func:`nt_xent` of the two views, each (N, D)."""
        return nt_xent(
            z1,
            z2,
            self.temperature,
            **self.loss_options(),
        )
