"""Stacking tokenised views into one encoder batch.

SimCSE embeds the same sentences twice: the two views differ only in their dropout masks. Stacking
the views along the batch dimension and running the encoder once gives the same embeddings in fewer,
larger matrix products, as SimCSE's own code does (Gao et al., "SimCSE", 2021, arXiv:2104.08821).
Views of different widths (the anchor / positive / hard-negative columns of NLI triplets) are
right-padded to the widest one first: padded positions carry attention mask 0, so every real
token's output is unchanged, and one forward pass runs over 3B rows instead of three over B rows
(sentence-transformers' ``embed_columns`` merges its candidate columns the same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

Features = Mapping[str, Any]


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
