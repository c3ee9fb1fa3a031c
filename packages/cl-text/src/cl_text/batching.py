"""Stacking tokenised views into one encoder batch.

SimCSE embeds the same sentences twice: the two views differ only in their dropout masks. Stacking
the views along the batch dimension and running the encoder once gives the same embeddings in fewer,
larger matrix products, as SimCSE's own code does (Gao et al., "SimCSE", 2021, arXiv:2104.08821);
``benchmarks/text_throughput.py --method simcse`` measures the effect. Views of different lengths
(anchor / positive / hard negative columns) are not stacked: padding every column to the longest
cost about as much as it saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

Features = Mapping[str, Any]


def stackable(views: Sequence[Features]) -> bool:
    """Whether ``views`` share keys, non-tensor values and tensor shapes beyond the batch dim."""
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
                if value.shape[1:] != other.shape[1:]:
                    return False
            elif value != other:
                return False
    return any(isinstance(value, Tensor) for value in first.values())


def stack_features(views: Sequence[Features]) -> tuple[dict[str, Any], list[int]]:
    """Concatenate tokenised feature dicts along the batch dimension.

    Tensor entries are concatenated; other entries (such as sentence-transformers' ``"modality"``)
    are kept once.

    Args:
        views: feature dicts for which :func:`stackable` holds, e.g. the same
            ``SentenceTransformer.preprocess`` output repeated once per dropout view.

    Returns:
        The stacked dict and the number of rows of each view (to ``split`` the outputs).

    Raises:
        ValueError: the views cannot be stacked (different keys, values or sequence lengths).

    Example:
        >>> a = {"input_ids": torch.tensor([[5, 6]]), "modality": "text"}
        >>> stacked, sizes = stack_features([a, a])
        >>> stacked["input_ids"].tolist(), stacked["modality"], sizes
        ([[5, 6], [5, 6]], 'text', [1, 1])
    """
    if not stackable(views):
        raise ValueError(
            "views must be non-empty feature dicts with the same keys, the same non-tensor values "
            "and tensors of the same shape beyond the batch dimension"
        )
    stacked = {
        key: torch.cat([view[key] for view in views]) if isinstance(value, Tensor) else value
        for key, value in views[0].items()
    }
    sizes = [_rows(view) for view in views]
    return stacked, sizes


def _rows(view: Features) -> int:
    return int(next(value for value in view.values() if isinstance(value, Tensor)).shape[0])
