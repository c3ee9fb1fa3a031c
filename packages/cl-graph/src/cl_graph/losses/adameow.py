"""AdaMEOW's learned negative weights: :math:`w_{ij} = \\sigma(\\mathrm{MLP}(a_i + c_j))`.

Yu, Ge, Li, et al., "Heterogeneous Graph Contrastive Learning with Meta-path Contexts and Adaptively
Weighted Negative Samples", IEEE TKDE 2024 (extended version of arXiv:2212.13847). The weighted
InfoNCE

.. math::

    \\mathcal{L} = -\\frac{1}{N}\\sum_i \\log
        \\frac{e^{a_i \\cdot c_i / \\tau}}{\\sum_{j \\ne i} w_{ij}\\, e^{a_i \\cdot c_j / \\tau}}

is computed by :func:`cl_core.losses.masked_logits_loss` with ``log_weights = log w`` (a
log-sigmoid, so never :math:`-\\infty`). The weight network is trained jointly with the
encoder. Difference from the authors' code: their denominator also holds the positive, scaled by
its own :math:`w_{ii}`; the kernel gives positives weight 1, so here the positive is left out (as
in MEOW, where :math:`w_{ii}=0`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.losses import masked_logits_loss


class NegativeWeightNet(nn.Module):
    """:math:`\\log w_{ij} = \\log\\sigma(W_2 \\tanh(W_1 (a_i + c_j) + b_1) + b_2)`.

    ``W_1(a_i + c_j) = W_1 a_i + W_1 c_j``, so the first layer runs on the B + N rows once and only
    the (B, N, hidden) sum is formed.

    Args:
        dim: embedding width D.
        hidden: width of the hidden layer (16 in the paper).
    """

    def __init__(self, dim: int, hidden: int = 16) -> None:
        super().__init__()
        self.first = nn.Linear(dim, hidden)
        self.second = nn.Linear(hidden, 1)

    def forward(self, anchors: Tensor, candidates: Tensor) -> Tensor:
        """(B, N) log-weights of anchors (B, D) against candidates (N, D)."""
        pair_hidden = self.first(anchors).unsqueeze(1) + F.linear(
            candidates, self.first.weight
        ).unsqueeze(0)
        return F.logsigmoid(self.second(torch.tanh(pair_hidden)).squeeze(-1))


def adaptive_weighted_info_nce(
    anchors: Tensor,
    candidates: Tensor,
    weight_net: NegativeWeightNet,
    *,
    temperature: float,
    anchor_index: Tensor | None = None,
) -> Tensor:
    """AdaMEOW's InfoNCE with learned negative weights (formula in the module docstring).

    Args:
        anchors: (B, D) anchor embeddings (normalised here).
        candidates: (N, D) candidates (normalised here); ``anchor_index[b]`` is anchor b's positive.
        weight_net: the network giving :math:`\\log w_{ij}`.
        temperature: :math:`\\tau > 0`.
        anchor_index: (B,) node id of each anchor; default ``arange(N)``.

    Returns:
        Scalar mean loss.

    Example:
        >>> net = NegativeWeightNet(8)
        >>> a, c = torch.randn(5, 8), torch.randn(5, 8)
        >>> adaptive_weighted_info_nce(a, c, net, temperature=0.5).shape
        torch.Size([])
    """
    if anchor_index is None:
        anchor_index = torch.arange(candidates.shape[0], device=candidates.device)
    if anchors.dim() != 2 or anchors.shape[0] != anchor_index.numel():
        raise ValueError(
            f"anchors must be (B, D) with B = len(anchor_index) = {anchor_index.numel()}, got "
            f"{tuple(anchors.shape)}"
        )
    anchors = F.normalize(anchors, dim=-1)
    candidates = F.normalize(candidates, dim=-1)
    return masked_logits_loss(
        anchors,
        candidates,
        temperature=temperature,
        positive_index=anchor_index,
        log_weights=weight_net(anchors, candidates),
        positives_in_denominator="none",
    )
