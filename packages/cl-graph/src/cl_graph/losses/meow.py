"""MEOW's weighted InfoNCE: cluster-based weights on the negatives of a cross-view InfoNCE.

Yu & Li, "Heterogeneous Graph Contrastive Learning with Meta-path Contexts and Weighted Negative
Samples", SDM 2023, arXiv:2212.13847. With coarse-view anchors :math:`a_i`, fine-view candidates
:math:`c_j` (both L2-normalised) and cluster assignments :math:`\\kappa_k(\\cdot)` from :math:`K`
k-means runs,

.. math::

    w_{ij} = K - \\sum_{k=1}^{K} [\\kappa_k(i) = \\kappa_k(j)], \\qquad
    \\mathcal{L} = -\\frac{1}{N}\\sum_i \\log
        \\frac{e^{a_i \\cdot c_i / \\tau}}{\\sum_{j} w_{ij}\\, e^{a_i \\cdot c_j / \\tau}}.

:math:`w_{ii} = 0`, so the positive is not in the denominator, and a pair that shares a cluster in
every run (a likely false negative) drops out. The weights are the kernel's
:func:`cl_core.mining.cluster_agreement_weights`, the loss its
:func:`cl_core.losses.masked_logits_loss` with ``log_weights = log w`` and
``positives_in_denominator="none"``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.losses import masked_logits_loss
from cl_core.mining import cluster_agreement_weights


def meow_info_nce(
    anchors: Tensor,
    candidates: Tensor,
    assignments: Tensor,
    *,
    temperature: float,
    anchor_index: Tensor | None = None,
) -> Tensor:
    """MEOW's cluster-weighted InfoNCE (see the module docstring for the formula).

    Args:
        anchors: (B, D) anchor embeddings (normalised here).
        candidates: (N, D) candidate embeddings (normalised here); row ``anchor_index[b]`` is the
            positive of anchor ``b``.
        assignments: (K, N) cluster ids of the N nodes from K k-means runs.
        temperature: :math:`\\tau > 0`.
        anchor_index: (B,) node id of each anchor; default ``arange(N)`` (all nodes, B = N).

    Returns:
        Scalar mean loss.

    Example:
        >>> z1, z2 = torch.randn(5, 8), torch.randn(5, 8)
        >>> clusters = torch.tensor([[0, 0, 1, 1, 2], [0, 1, 1, 2, 2]])
        >>> meow_info_nce(z1, z2, clusters, temperature=0.5).shape
        torch.Size([])
    """
    num_nodes = candidates.shape[0] if isinstance(candidates, Tensor) else -1
    if anchor_index is None:
        anchor_index = torch.arange(num_nodes, device=candidates.device)
    if not isinstance(assignments, Tensor) or assignments.dim() != 2:
        raise ValueError("assignments must be a (K, N) integer tensor")
    if assignments.shape[1] != num_nodes:
        raise ValueError(
            f"assignments must have one column per candidate ({num_nodes}), got shape "
            f"{tuple(assignments.shape)}"
        )
    if (
        isinstance(anchors, Tensor)
        and anchors.dim() == 2
        and anchors.shape[0] != anchor_index.numel()
    ):
        raise ValueError(
            f"anchors must have one row per anchor_index entry ({anchor_index.numel()}), got "
            f"{tuple(anchors.shape)}"
        )
    weights = cluster_agreement_weights(assignments)[anchor_index]
    log_weights = torch.log(weights.to(anchors.dtype))
    return masked_logits_loss(
        F.normalize(anchors, dim=-1),
        F.normalize(candidates, dim=-1),
        temperature=temperature,
        positive_index=anchor_index,
        log_weights=log_weights,
        positives_in_denominator="none",
    )


class MEOWInfoNCELoss(nn.Module):
    """Module form of :func:`meow_info_nce` holding the temperature."""

    def __init__(self, temperature: float = 0.4) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(
        self,
        anchors: Tensor,
        candidates: Tensor,
        assignments: Tensor,
        anchor_index: Tensor | None = None,
    ) -> Tensor:
        return meow_info_nce(
            anchors,
            candidates,
            assignments,
            temperature=self.temperature,
            anchor_index=anchor_index,
        )
