"""Stacking tokenised views into one encoder batch.

SimCSE embeds the same sentences twice: the two views differ only in their dropout masks. Stacking
the views along the batch dimension and running the encoder once gives the same embeddings in fewer,
larger matrix products, as SimCSE's own code does (Gao et al., "SimCSE", 2021, arXiv:2104.08821).
Views of different widths (the anchor / positive / hard-negative columns of NLI triplets) are
right-padded to the widest one first: padded positions carry attention mask 0, so every real
token's output is unchanged, and one forward pass runs over 3B rows instead of three over B rows
(sentence-transformers' ``embed_columns`` merges its candidate columns the same way).

Padding is paid for: a transformer layer costs about the same per padded position as per real
token. Short sentences of mixed lengths (SICK's are 5-25 tokens) leave about half of a stacked
batch as padding, so :func:`embed_in_length_groups` sorts the rows by length, splits them into
contiguous groups (:func:`length_groups`: the split that minimises padded positions plus a fixed
cost per forward pass, found exactly by dynamic programming), trims each group to its own longest
row, and puts the embeddings back in the original row order. With right padding and a row-wise
encoder (attention masks padded positions; the pooling reads the mask) every row's embedding is
the same as in one padded pass; only the dropout masks are drawn in another order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

Features = Mapping[str, Any]

#: Fixed cost of one more forward pass, in padded token positions. With all-MiniLM-L6-v2 at 1 CPU
#: thread, backward included, one pass costs about 60 positions' worth of time (a fit of
#: t = a * positions + b * passes to 1-4 groups of SICK triplet batches); at 2 threads the per-token
#: part halves and the Python part does not, so a value between the two regimes is used.
PASS_COST_POSITIONS = 96


def stackable(views: Sequence[Features]) -> bool:
    """Whether ``views`` can be stacked by :func:`stack_features`.

    They must share keys and non-tensor values; tensors must agree in every dimension but the batch
    dimension, except that integer token tensors (``input_ids``, ``attention_mask``, ...) may differ
    in width (dimension 1), which :func:`stack_features` pads. At least one value is a tensor.
    """
    if not views:
        return False
    first = views[0]
    for view in views[1:]:
        if list(view) != list(first):
            return False
        for key, value in view.items():
            other = first[key]
            if isinstance(value, Tensor) != isinstance(other, Tensor):
                return False
            if isinstance(value, Tensor):
                if not _same_shape_but_width(value, other):
                    return False
            elif value != other:
                return False
    return any(isinstance(value, Tensor) for value in first.values())


def stack_features(
    views: Sequence[Features], pad_values: Mapping[str, int] | None = None
) -> tuple[dict[str, Any], list[int]]:
    """Concatenate tokenised feature dicts along the batch dimension.

    Tensor entries are right-padded to the widest view (integer tensors of rank >= 2 only) and
    concatenated; other entries (such as sentence-transformers' ``"modality"``) are kept once.

    Args:
        views: feature dicts for which :func:`stackable` holds, e.g. the same
            ``SentenceTransformer.preprocess`` output repeated once per dropout view, or the
            anchor / positive / negative columns of a batch of triplets.
        pad_values: fill value per key for the padded positions (default 0, which is right for
            ``attention_mask`` and ``token_type_ids``; give ``input_ids`` the tokenizer's pad id).

    Returns:
        The stacked dict and the number of rows of each view (to ``split`` the outputs).

    Raises:
        ValueError: the views cannot be stacked (different keys, values, or float tensors of
            different shapes).

    Example:
        >>> a = {"input_ids": torch.tensor([[5, 6]]), "modality": "text"}
        >>> b = {"input_ids": torch.tensor([[7, 8, 9]]), "modality": "text"}
        >>> stacked, sizes = stack_features([a, b])
        >>> stacked["input_ids"].tolist(), stacked["modality"], sizes
        ([[5, 6, 0], [7, 8, 9]], 'text', [1, 1])
    """
    if not stackable(views):
        raise ValueError(
            "views must be non-empty feature dicts with the same keys, the same non-tensor values "
            "and tensors of the same shape beyond the batch dimension (integer token tensors may "
            "differ in width)"
        )
    fills = dict(pad_values or {})
    stacked: dict[str, Any] = {}
    for key, value in views[0].items():
        if not isinstance(value, Tensor):
            stacked[key] = value
            continue
        tensors = [view[key] for view in views]
        if value.dim() >= 2:
            width = max(tensor.shape[1] for tensor in tensors)
            tensors = [_pad_width(tensor, width, fills.get(key, 0)) for tensor in tensors]
        stacked[key] = torch.cat(tensors)
    sizes = [_rows(view) for view in views]
    return stacked, sizes


def _same_shape_but_width(a: Tensor, b: Tensor) -> bool:
    if a.shape[1:] == b.shape[1:]:
        return True
    token_like = not any(t.is_floating_point() or t.is_complex() for t in (a, b))
    return token_like and a.dim() == b.dim() >= 2 and a.shape[2:] == b.shape[2:]


def _pad_width(tensor: Tensor, width: int, value: int) -> Tensor:
    missing = width - tensor.shape[1]
    if missing == 0:
        return tensor
    padding = tensor.new_full((tensor.shape[0], missing, *tensor.shape[2:]), value)
    return torch.cat([tensor, padding], dim=1)


def _rows(view: Features) -> int:
    return int(next(value for value in view.values() if isinstance(value, Tensor)).shape[0])


def length_groups(lengths: Tensor, pass_cost: float = PASS_COST_POSITIONS) -> list[Tensor]:
    """Split rows into groups of similar length that are cheapest to run one group per pass.

    Rows are sorted by length; a group is a run of the sorted rows and costs
    ``rows * max_length + pass_cost`` (padded positions plus the fixed cost of a pass). The
    partition with the smallest total is found by dynamic programming over the distinct lengths
    (a group only ever ends where the length changes), in O(u^2) for u distinct lengths.

    Args:
        lengths: ``(N,)`` integer row lengths (real tokens per row), N >= 1.
        pass_cost: cost of one forward pass in padded positions (>= 0; 0 gives one group per
            distinct length, a very large value one group in all).

    Returns:
        Row indices per group, shortest rows first; together a permutation of ``range(N)``.

    Raises:
        ValueError: ``lengths`` is not a non-empty 1-D integer tensor of values >= 0, or
            ``pass_cost`` < 0.

    Example:
        >>> [g.tolist() for g in length_groups(torch.tensor([3, 30, 4, 31]), pass_cost=10)]
        [[0, 2], [1, 3]]
    """
    if not isinstance(lengths, Tensor) or lengths.dim() != 1 or lengths.numel() == 0:
        raise ValueError(f"lengths must be a non-empty 1-D tensor, got {lengths!r}")
    if lengths.is_floating_point() or lengths.is_complex() or bool((lengths < 0).any()):
        raise ValueError("lengths must hold integers >= 0")
    if not pass_cost >= 0:
        raise ValueError(f"pass_cost must be >= 0, got {pass_cost}")
    order = torch.argsort(lengths, stable=True)
    values, counts = torch.unique_consecutive(lengths[order], return_counts=True)
    ends = counts.cumsum(0).tolist()
    widths = values.tolist()
    # best[k]: cheapest cost of the rows of the first k distinct lengths; cut[k]: where its last
    # group starts (an index into ``ends``, 0 = the first row).
    best = [0.0] + [float("inf")] * len(widths)
    cut = [0] * (len(widths) + 1)
    for k in range(1, len(widths) + 1):
        for j in range(k):
            start = ends[j - 1] if j else 0
            cost = best[j] + (ends[k - 1] - start) * widths[k - 1] + pass_cost
            if cost < best[k]:
                best[k], cut[k] = cost, j
    groups = []
    k = len(widths)
    while k:
        j = cut[k]
        groups.append(order[(ends[j - 1] if j else 0) : ends[k - 1]])
        k = j
    return groups[::-1]


def right_padded_lengths(attention_mask: Tensor) -> Tensor | None:
    """Real tokens per row when every row of ``attention_mask`` is ones then zeros, else None."""
    if attention_mask.dim() != 2:
        return None
    lengths = attention_mask.sum(1)
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    expected = positions.unsqueeze(0) < lengths.unsqueeze(1)
    return lengths if bool((attention_mask.bool() == expected).all()) else None


def embed_in_length_groups(
    embed: Callable[[dict[str, Any]], Tensor],
    features: Features,
    pass_cost: float = PASS_COST_POSITIONS,
) -> Tensor:
    """``embed(features)`` computed one :func:`length_groups` group at a time, trimmed of padding.

    Each group's tensors are cut to its rows and to its longest row's width (2-D and wider tensors;
    1-D tensors to its rows; other values kept); the outputs are reassembled in the original row
    order. Without a right-padded ``attention_mask`` (left padding, no mask) this is one call of
    ``embed`` on ``features`` as they are.

    Args:
        embed: maps a feature dict to ``(rows, D)`` embeddings, row by row (no statistic across
            rows, such as batch normalisation, may be involved).
        features: tokenised batch with an ``attention_mask`` of shape ``(N, W)``.
        pass_cost: see :func:`length_groups`.

    Returns:
        ``(N, D)`` embeddings, row ``i`` of ``features`` in row ``i``.

    Example:
        >>> features = {"input_ids": torch.tensor([[5, 6, 0], [7, 8, 9]]),
        ...             "attention_mask": torch.tensor([[1, 1, 0], [1, 1, 1]])}
        >>> widths = lambda f: f["input_ids"].shape[1] * torch.ones(len(f["input_ids"]), 1)
        >>> embed_in_length_groups(widths, features, pass_cost=0).flatten().tolist()
        [2.0, 3.0]
    """
    mask = features.get("attention_mask")
    lengths = right_padded_lengths(mask) if isinstance(mask, Tensor) else None
    if lengths is None:
        return embed(dict(features))
    groups = length_groups(lengths, pass_cost)
    if len(groups) == 1 and int(lengths.max()) == mask.shape[1]:
        return embed(dict(features))
    pieces = [embed(_rows_and_width(features, rows, int(lengths[rows].max()))) for rows in groups]
    inverse = torch.argsort(torch.cat(groups))
    return torch.cat(pieces)[inverse]


def _rows_and_width(features: Features, rows: Tensor, width: int) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    for key, value in features.items():
        if isinstance(value, Tensor) and value.dim() >= 2:
            picked[key] = value[rows, :width]
        elif isinstance(value, Tensor):
            picked[key] = value[rows]
        else:
            picked[key] = value
    return picked
