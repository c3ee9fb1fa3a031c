r"""CLHE: a contrastive hierarchical encoder for bundle construction.

Ma, Liu, Wei, Tao, Wang, Chua, "Leveraging Multimodal Features and Item-level User Feedback for
Bundle Construction", WSDM 2024, arXiv:2310.18770 (code: github.com/Xiaohao-Liu/CLHE).

Hierarchy: each item is a short sequence of feature tokens (visual MLP, text MLP, ID embedding;
the paper adds a collaborative-filtering token, absent here) fused by self-attention and
mean-pooled into an item vector :math:`e_i`; a partial bundle's item vectors go through a
one-layer Transformer and are mean-pooled into the bundle vector :math:`b`. Items are ranked by
:math:`b^\top e_i`. With :math:`x_{bi} = 1` for the items of bundle :math:`b`, the loss is

.. math::

    \mathcal{L} = \mathcal{L}_\text{rec} + \alpha_\text{item}\mathcal{L}_\text{item}
        + \alpha_\text{bundle}\mathcal{L}_\text{bundle}, \qquad
    \mathcal{L}_\text{rec} = -\frac1B \sum_b \frac{\sum_i x_{bi}
        \log \operatorname{softmax}_i(b^\top e_i)}{\sum_i x_{bi}},

where :math:`\mathcal{L}_\text{item}` is InfoNCE between two modality-token-dropout views of the
batch's items and :math:`\mathcal{L}_\text{bundle}` InfoNCE between the full bundle and an
item-dropout view of its partial bundle (kernel :func:`cl_core.losses.info_nce`). Token dropout
here drops each token with probability ``token_dropout`` (the official ``generate_two_subs``
keeps only ~20% of tokens at ratio 0.2; we use the stated ratio as a drop rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from cl_core.losses import info_nce

CITATION = (
    "Ma, Liu, Wei, Tao, Wang, Chua, Leveraging Multimodal Features and Item-level User Feedback "
    "for Bundle Construction, WSDM 2024, arXiv:2310.18770"
)


def multinomial_bundle_loss(scores: Tensor, targets: Tensor) -> Tensor:
    r"""Multinomial reconstruction loss of bundles over all items.

    .. math::

        \mathcal{L}_\text{rec} = -\frac1B \sum_b
            \frac{\sum_i x_{bi} \log \operatorname{softmax}_i(s_b)}{\sum_i x_{bi}}

    Args:
        scores: bundle-item scores (B, N).
        targets: 0/1 (or non-negative weight) item membership (B, N); every row needs a positive.

    Returns:
        Scalar loss.

    Example:
        >>> scores = torch.zeros(2, 4)
        >>> targets = torch.tensor([[1.0, 1, 0, 0], [0, 0, 0, 1]])
        >>> round(float(multinomial_bundle_loss(scores, targets)), 4)
        1.3863
    """
    for name, value in (("scores", scores), ("targets", targets)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if scores.ndim != 2 or targets.shape != scores.shape:
        raise ValueError(
            "scores must be (B, N) and targets the same shape, got "
            f"{tuple(scores.shape)} and {tuple(targets.shape)}"
        )
    if bool((targets < 0).any()) or bool((targets.sum(1) <= 0).any()):
        raise ValueError("targets must be non-negative with at least one positive per row")
    log_probs = torch.log_softmax(scores, dim=1)
    return -((targets * log_probs).sum(1) / targets.sum(1)).mean()


class HierarchicalItemEncoder(nn.Module):
    """Item tokens (visual MLP, text MLP, ID embedding) -> self-attention -> mean pool.

    Args:
        visual: (N, Dv) visual features of all items.
        text: (N, Dt) text features of all items.
        dim: token and output width.
    """

    def __init__(self, visual: Tensor, text: Tensor, dim: int = 64) -> None:
        super().__init__()
        if visual.ndim != 2 or text.ndim != 2 or len(visual) != len(text):
            raise ValueError(
                "visual and text must be (N, D) with the same N, got "
                f"{tuple(visual.shape)} and {tuple(text.shape)}"
            )
        self.register_buffer("visual", visual.float())
        self.register_buffer("text", text.float())
        self.visual_mlp = nn.Sequential(
            nn.Linear(visual.shape[1], dim), nn.LeakyReLU(), nn.Linear(dim, dim)
        )
        self.text_mlp = nn.Sequential(
            nn.Linear(text.shape[1], dim), nn.LeakyReLU(), nn.Linear(dim, dim)
        )
        self.item_ids = nn.Embedding(len(visual), dim)
        self.attention = nn.MultiheadAttention(dim, num_heads=1, batch_first=True)

    def forward(self, token_dropout: float = 0.0, drop_visual: bool = False) -> Tensor:
        """Vectors (N, dim) of all items.

        Args:
            token_dropout: probability of zeroing each token (the augmentation), in [0, 1).
            drop_visual: zero every item's visual token (a missing-modality test).
        """
        if not 0 <= token_dropout < 1:
            raise ValueError(f"token_dropout must lie in [0, 1), got {token_dropout}")
        tokens = torch.stack(
            [
                nn.functional.normalize(self.visual_mlp(self.visual), dim=-1),
                nn.functional.normalize(self.text_mlp(self.text), dim=-1),
                self.item_ids.weight,
            ],
            dim=1,
        )
        if token_dropout > 0:
            keep = torch.rand(tokens.shape[:2], device=tokens.device) >= token_dropout
            tokens = tokens * keep.unsqueeze(-1)
        if drop_visual:
            tokens = torch.cat([torch.zeros_like(tokens[:, :1]), tokens[:, 1:]], dim=1)
        fused, _ = self.attention(tokens, tokens, tokens, need_weights=False)
        return fused.mean(dim=1)


class BundleEncoder(nn.Module):
    """Item vectors of a padded bundle -> one Transformer layer -> masked mean pool."""

    def __init__(self, dim: int = 64, dropout: float = 0.2) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            dim, nhead=1, dim_feedforward=2 * dim, dropout=dropout, batch_first=True
        )

    def forward(self, item_vectors: Tensor, bundles: Tensor) -> Tensor:
        """Bundle vectors (B, dim) from ``bundles`` (B, L) of item indices, -1 = padding."""
        padding = bundles < 0
        hidden = self.layer(item_vectors[bundles.clamp(min=0)], src_key_padding_mask=padding)
        keep = (~padding).unsqueeze(-1).to(hidden.dtype)
        return (hidden * keep).sum(1) / keep.sum(1).clamp(min=1.0)


@dataclass(frozen=True)
class ClheWeights:
    """Loss weights and augmentation rates (defaults from the official run.sh, POG_dense)."""

    item_alpha: float = 0.1
    bundle_alpha: float = 2.0
    item_temperature: float = 0.5
    bundle_temperature: float = 0.05
    token_dropout: float = 0.2
    item_dropout: float = 0.5


class CLHE(nn.Module):
    """The hierarchical encoder with :meth:`loss` (rec + item CL + bundle CL) and :meth:`scores`.

    Example:
        >>> model = CLHE(torch.randn(10, 6), torch.randn(10, 5), dim=8)
        >>> full = torch.tensor([[0, 1, 2, -1], [3, 4, 5, 6]])
        >>> partial = torch.tensor([[0, -1], [3, 4]])
        >>> model.loss(partial, full).shape, model.scores(partial).shape
        (torch.Size([]), torch.Size([2, 10]))
    """

    citation = CITATION

    def __init__(
        self,
        visual: Tensor,
        text: Tensor,
        dim: int = 64,
        weights: ClheWeights = ClheWeights(),
    ) -> None:
        super().__init__()
        self.items = HierarchicalItemEncoder(visual, text, dim)
        self.bundles = BundleEncoder(dim)
        self.weights = weights

    def scores(self, partial: Tensor, drop_visual: bool = False) -> Tensor:
        """Scores (B, N) of every item for completing each partial bundle (B, L), -1 = padding;
        ``drop_visual`` hides every item's visual token (missing-modality test)."""
        items = self.items(drop_visual=drop_visual)
        return self.bundles(items, partial) @ items.T

    def loss(self, partial: Tensor, full: Tensor) -> Tensor:
        """CLHE loss of partial bundles (B, L) that should reconstruct ``full`` (B, L')."""
        if partial.ndim != 2 or full.ndim != 2 or len(partial) != len(full):
            raise ValueError(
                "partial and full must be (B, L) index tensors with the same B, got "
                f"{tuple(partial.shape)} and {tuple(full.shape)}"
            )
        w = self.weights
        items = self.items()
        targets = torch.zeros(len(full), len(items), device=items.device)
        targets.scatter_(1, full.clamp(min=0), (full >= 0).to(targets.dtype))
        total = multinomial_bundle_loss(self.bundles(items, partial) @ items.T, targets)
        if w.item_alpha > 0:
            in_batch = torch.unique(full[full >= 0])
            view_a = self.items(w.token_dropout)[in_batch]
            view_b = self.items(w.token_dropout)[in_batch]
            total = total + w.item_alpha * info_nce(view_a, view_b, temperature=w.item_temperature)
        if w.bundle_alpha > 0:
            dropped = partial.masked_fill(torch.rand(partial.shape) < w.item_dropout, -1)
            dropped[:, 0] = partial[:, 0]
            total = total + w.bundle_alpha * info_nce(
                self.bundles(items, full),
                self.bundles(items, dropped),
                temperature=w.bundle_temperature,
            )
        return total


def bundle_completion_metrics(
    scores: np.ndarray,
    inputs: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    ks: Sequence[int] = (10, 20),
) -> dict[str, float]:
    r"""Recall@K and NDCG@K of completing each partial bundle; its input items are not ranked.

    Recall@K :math:`= \frac1B\sum_b |\text{top}_K(b) \cap T_b| / |T_b|` (CLHE's definition, not the
    hit rate); NDCG@K with binary relevance; both from
    :func:`cl_core.evaluation.top_k_coverage_and_ndcg` with the given items excluded.

    Args:
        scores: (B, N) item scores.
        inputs: item indices given as each partial bundle.
        targets: item indices completing each bundle (non-empty).
        ks: cut-offs in [1, N].

    Returns:
        ``{"recall@K": ..., "ndcg@K": ...}`` for each K.

    Example:
        >>> scores = np.array([[0.9, 0.8, 0.1, 0.0]])
        >>> bundle_completion_metrics(scores, [np.array([0])], [np.array([1, 3])], ks=(1,))
        {'recall@1': 0.5, 'ndcg@1': 1.0}
    """
    from cl_core.evaluation import top_k_coverage_and_ndcg

    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or len(inputs) != len(scores) or len(targets) != len(scores):
        raise ValueError(
            f"scores must be (B, N) with B inputs and targets, got {scores.shape}, "
            f"{len(inputs)} inputs and {len(targets)} targets"
        )
    if any(len(t) == 0 for t in targets):
        raise ValueError("every bundle needs at least one target item")
    if any(not 1 <= k <= scores.shape[1] for k in ks):
        raise ValueError(f"ks must lie in [1, {scores.shape[1]}], got {tuple(ks)}")
    given = np.zeros(scores.shape, dtype=bool)
    relevance = np.zeros(scores.shape)
    for row, (items, wanted) in enumerate(zip(inputs, targets, strict=True)):
        given[row, items] = True
        relevance[row, wanted] = 1.0
    return top_k_coverage_and_ndcg(scores, relevance, ks, exclude=given)
