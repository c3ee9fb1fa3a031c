"""Supervised contrastive loss (SupCon, the L_out form).

Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020, arXiv:2004.11362.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from cl_core.distributed import gathered_multiview, rank_offset
from cl_core.losses._embeddings import prepared_embeddings
from cl_core.losses._module import BatchLossModule
from cl_core.losses._reduction import Reduction
from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import (
    check_labels,
    check_num_views,
    check_reduction,
    check_temperature,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


def supcon(
    features: Tensor,
    labels: Tensor | None = None,
    temperature: float | Tensor = 0.1,
    *,
    normalize: bool = True,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
    gather: bool = False,
    group: ProcessGroup | None = None,
) -> Tensor:
    r"""SupCon :math:`\mathcal{L}^{sup}_{out}` over all V views of a batch of B labelled samples.

    The V*B view embeddings :math:`z` (L2-normalised) are all anchors. For anchor :math:`i`,
    :math:`A(i)` is every other view and :math:`P(i) \subset A(i)` those with the same label:

    .. math::

        \mathcal{L}^{sup}_{out} = \sum_i \frac{-1}{|P(i)|} \sum_{p \in P(i)}
            \log \frac{\exp(z_i^\top z_p / \tau)}{\sum_{a \in A(i)} \exp(z_i^\top z_a / \tau)}

    averaged (``"mean"``) over the V*B anchors. With ``labels=None`` each sample is its own class
    (the SimCLR case): the positives of a view are the other V-1 views of the same sample. For
    V = 2 and ``labels=None`` this equals :func:`cl_core.losses.nt_xent` of the two views exactly.

    One view (V = 1) is accepted when labels are given, as the formula allows: the positives of a
    sample are the other samples of its class. An anchor without a positive (the only sample of its
    class) has no term and is left out - of the mean, of the sum, and as 0 in ``"none"`` - as in
    pytorch-metric-learning's ``SupConLoss``; a batch where no anchor has a positive is an error.
    The authors' code also multiplies by ``temperature / base_temperature``; that factor is 1 at
    their default and is not applied here.

    Args:
        features: View embeddings, shape (B, V, D): V >= 2, or V = 1 with ``labels``.
        labels: (B,) integer class labels, or None for the self-supervised case.
        temperature: :math:`\tau > 0` (paper: 0.1).
        normalize: L2-normalise the embeddings first.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the per-anchor losses, shape (B, V)).
        chunk_size: Stream over candidate blocks (see ``masked_logits_loss``).
        gather: Data-parallel training: the V*B local views are the anchors and the views and
            labels gathered from every rank are the candidates
            (:func:`cl_core.distributed.gathered_multiview`); with ``labels=None`` each sample's
            class is its global row index. Gradients follow ``cl_core.distributed``'s
            convention: with ``"mean"`` and equal local batches each rank's input gradient is
            world size times the single-process one, which DDP's averaging cancels. A no-op when
            ``torch.distributed`` is not initialised.
        group: Process group for ``gather``; None is the default group.

    Returns:
        A scalar, or the (B, V) per-anchor losses for ``"none"``.

    Example:
        >>> import torch
        >>> features = torch.randn(8, 2, 16)
        >>> supcon(features, torch.tensor([0, 1, 0, 1, 2, 2, 3, 3])).shape
        torch.Size([])
    """
    views = prepared_embeddings(
        features, "features", normalize=normalize, shape="(B, V, D)", ndim=3
    )
    batch, num_views, dim = views.shape
    if labels is None or num_views != 1:
        check_num_views(num_views, "features")
    check_temperature(temperature)
    check_reduction(reduction)
    if labels is None:
        labels = torch.arange(batch, device=views.device)
        if gather:
            labels = labels + rank_offset(batch, group)
    else:
        check_labels(labels, batch, "labels")
    if gather:
        anchors, candidates, anchor_labels, candidate_labels, exclude_index = gathered_multiview(
            views, labels, group
        )
    else:
        anchors = candidates = views.transpose(0, 1).reshape(num_views * batch, dim)
        anchor_labels = candidate_labels = labels.to(views.device).repeat(num_views)
        exclude_index = torch.arange(num_views * batch, device=views.device)
    if num_views == 1:
        return _single_view_supcon(
            anchors,
            candidates,
            anchor_labels,
            candidate_labels,
            exclude_index,
            temperature,
            reduction,
            chunk_size,
        )
    per_anchor = masked_logits_loss(
        anchors,
        candidates,
        temperature=temperature,
        anchor_labels=anchor_labels,
        candidate_labels=candidate_labels,
        exclude_index=exclude_index,
        reduction=reduction,
        chunk_size=chunk_size,
    )
    if reduction == "none":
        return per_anchor.reshape(num_views, batch).T
    return per_anchor


def _single_view_supcon(
    anchors: Tensor,
    candidates: Tensor,
    anchor_labels: Tensor,
    candidate_labels: Tensor,
    exclude_index: Tensor,
    temperature: float | Tensor,
    reduction: Reduction,
    chunk_size: int | None,
) -> Tensor:
    """SupCon over the anchors that have a positive among the candidates (V = 1)."""
    # The anchor's own column is among the candidates: a positive needs a second match.
    matches = (candidate_labels.unsqueeze(0) == anchor_labels.unsqueeze(1)).sum(dim=1)
    keep = matches > 1
    if not bool(keep.any()):
        raise ValueError(
            "features with one view (V=1) need labels that give some anchor a positive (a second "
            "sample of its class); every label in this batch is unique"
        )
    per_anchor = masked_logits_loss(
        anchors[keep],
        candidates,
        temperature=temperature,
        anchor_labels=anchor_labels[keep],
        candidate_labels=candidate_labels,
        exclude_index=exclude_index[keep],
        reduction="none",
        chunk_size=chunk_size,
    )
    if reduction == "mean":
        return per_anchor.mean()
    if reduction == "sum":
        return per_anchor.sum()
    full = per_anchor.new_zeros(len(anchors))
    full[keep] = per_anchor
    return full.unsqueeze(1)


class SupConLoss(BatchLossModule):
    """Module form of :func:`supcon` (Khosla et al. 2020, arXiv:2004.11362).

    ``gather=True`` scores local views against the views of every rank (see :func:`supcon`).

    Options are those of :class:`~cl_core.losses._module.BatchLossModule`; the temperature
    defaults to 0.1.

    Example:
        >>> import torch
        >>> loss = SupConLoss(temperature=0.1)(torch.randn(8, 2, 16), torch.arange(8) % 3)
    """

    default_temperature = 0.1

    def forward(self, features: Tensor, labels: Tensor | None = None) -> Tensor:
        """Return :func:`supcon` of (B, V, D) features and optional (B,) labels."""
        return supcon(
            features,
            labels,
            self.temperature,
            **self.loss_options(),
        )
