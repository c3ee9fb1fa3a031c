r"""DebCSE pair selection: inverse-propensity-weighted positives and hard negatives.

Miao, Du, Zhang, "DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the
Debiasing Perspective", CIKM 2023 (arXiv:2309.07396). No code is published; this follows the spec in
``shared/methods.md`` §24, with these concrete choices:

1. Candidates of anchor i: its k nearest sentences by base-encoder cosine similarity (semantic).
2. Naive pools: the ``positive_pool`` nearest candidates are positive candidates, the rest are hard
   negative candidates. This naive selection is biased by surface similarity (short, lexically
   overlapping pairs are nearer).
3. Surface bin :math:`b(i, j)` = (quantile bin of the token-length difference, quantile bin of the
   token Jaccard overlap) over all candidate pairs.
4. Propensity :math:`e_{pos}(b) = P(j \in \text{positive pool} \mid b)` and
   :math:`e_{neg}(b) = P(j \in \text{negative pool} \mid b)`, estimated with histograms.
5. Anchor i draws its positive from its positive pool with probability
   :math:`\propto 1 / e_{pos}(b(i, j))`, and its hard negative from its negative pool with
   probability :math:`\propto 1 / e_{neg}(b(i, j))`, which flattens the dependence of the selected
   pairs on surface similarity (inverse propensity weighting).

The triplets then train with the supervised-SimCSE InfoNCE (``cl_core.losses.info_nce`` with a hard
negative).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from cl_text.data.nli import Triplet


@dataclass(frozen=True)
class CandidatePairs:
    """Anchor/candidate index pairs with their surface features and naive pool membership."""

    anchor: np.ndarray
    candidate: np.ndarray
    length_difference: np.ndarray
    overlap: np.ndarray
    in_positive_pool: np.ndarray


def token_overlap(first: str, second: str) -> float:
    """Jaccard overlap of the lower-cased whitespace tokens of two sentences, in [0, 1]."""
    a, b = set(first.lower().split()), set(second.lower().split())
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def candidate_pairs(
    sentences: Sequence[str], embeddings: Tensor, *, num_candidates: int, positive_pool: int
) -> CandidatePairs:
    """The k nearest neighbours of every sentence with their surface features (steps 1-2)."""
    count = len(sentences)
    if embeddings.dim() != 2 or embeddings.shape[0] != count:
        raise ValueError(
            f"embeddings must have shape ({count}, D) like sentences, got {tuple(embeddings.shape)}"
        )
    if not 1 <= positive_pool < num_candidates < count:
        raise ValueError(
            "need 1 <= positive_pool < num_candidates < len(sentences), got "
            f"positive_pool={positive_pool}, num_candidates={num_candidates}, len={count}"
        )
    unit = torch.nn.functional.normalize(embeddings.float(), dim=1)
    similarity = unit @ unit.T
    similarity.fill_diagonal_(-float("inf"))
    neighbours = similarity.topk(num_candidates, dim=1).indices.numpy()
    anchor = np.repeat(np.arange(count), num_candidates)
    candidate = neighbours.reshape(-1)
    lengths = np.array([len(s.split()) for s in sentences])
    return CandidatePairs(
        anchor=anchor,
        candidate=candidate,
        length_difference=np.abs(lengths[anchor] - lengths[candidate]).astype(float),
        overlap=np.array(
            [
                token_overlap(sentences[i], sentences[j])
                for i, j in zip(anchor, candidate, strict=True)
            ]
        ),
        in_positive_pool=np.tile(np.arange(num_candidates) < positive_pool, count),
    )


def surface_bins(pairs: CandidatePairs, num_bins: int) -> np.ndarray:
    """Joint (length-difference, overlap) quantile bin of each pair, in ``[0, num_bins**2)``."""
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")

    def quantile_bin(values: np.ndarray) -> np.ndarray:
        edges = np.quantile(values, np.linspace(0, 1, num_bins + 1)[1:-1])
        return np.searchsorted(edges, values, side="right")

    return quantile_bin(pairs.length_difference) * num_bins + quantile_bin(pairs.overlap)


def selection_propensity(bins: np.ndarray, selected: np.ndarray, num_cells: int) -> np.ndarray:
    """Histogram estimate of ``P(selected | bin)`` for every pair (step 4); empty cells give 1.

    Example:
        >>> selection_propensity(np.array([0, 0, 1, 1]), np.array([True, False, True, True]), 2)
        array([0.5, 0.5, 1. , 1. ])
    """
    totals = np.bincount(bins, minlength=num_cells).astype(float)
    chosen = np.bincount(bins, weights=selected.astype(float), minlength=num_cells)
    per_cell = np.divide(chosen, totals, out=np.ones(num_cells), where=totals > 0)
    return per_cell[bins]


def ipw_choice(
    groups: np.ndarray, propensity: np.ndarray, rng: np.random.Generator
) -> dict[int, int]:
    """For every group id, one member index drawn with probability proportional to 1/propensity."""
    chosen: dict[int, int] = {}
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        weights = 1.0 / np.clip(propensity[members], 1e-12, None)
        chosen[int(group)] = int(rng.choice(members, p=weights / weights.sum()))
    return chosen


def debcse_triplets(
    sentences: Sequence[str],
    embeddings: Tensor,
    *,
    num_candidates: int = 8,
    positive_pool: int = 2,
    num_bins: int = 4,
    seed: int = 0,
) -> list[Triplet]:
    """One (anchor, IPW-drawn positive, IPW-drawn hard negative) triplet per sentence.

    Args:
        sentences: unlabelled sentences (N), N > ``num_candidates``.
        embeddings: their base-encoder embeddings (N, D).
        num_candidates: k nearest neighbours considered per anchor.
        positive_pool: the nearest ``positive_pool`` of them are positive candidates.
        num_bins: quantile bins per surface feature (``num_bins**2`` cells).
        seed: seed of the draws.

    Returns:
        N triplets, anchors in input order.

    Example:
        >>> sents = [f"sentence number {i} " + "word " * (i % 5) for i in range(20)]
        >>> len(debcse_triplets(sents, torch.randn(20, 8), num_candidates=4, positive_pool=1))
        20
    """
    pairs = candidate_pairs(
        sentences, embeddings, num_candidates=num_candidates, positive_pool=positive_pool
    )
    bins = surface_bins(pairs, num_bins)
    cells = num_bins * num_bins
    rng = np.random.default_rng(seed)
    positive = pairs.in_positive_pool
    e_pos = selection_propensity(bins, positive, cells)
    e_neg = selection_propensity(bins, ~positive, cells)
    pos_pick = ipw_choice(pairs.anchor[positive], e_pos[positive], rng)
    neg_pick = ipw_choice(pairs.anchor[~positive], e_neg[~positive], rng)
    pos_rows, neg_rows = np.flatnonzero(positive), np.flatnonzero(~positive)
    return [
        Triplet(
            sentences[i],
            sentences[pairs.candidate[pos_rows[pos_pick[i]]]],
            sentences[pairs.candidate[neg_rows[neg_pick[i]]]],
        )
        for i in range(len(sentences))
    ]
