"""Validate and L2-normalise the raw embeddings a public loss receives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_core.validation import check_embeddings


def prepared_embeddings(
    embeddings: object, name: str, *, normalize: bool, shape: str = "(N, D)", ndim: int = 2
) -> Tensor:
    """Check ``embeddings`` and return them, fp16/bf16 upcast to float32, L2-normalised if asked.

    Args:
        embeddings: Raw embeddings of rank ``ndim``; the last dimension is the feature width D.
        name: Argument name used in error messages.
        normalize: Divide each embedding by its L2 norm (cosine similarities downstream).
        shape: Expected shape written for error messages, e.g. ``"(B, V, D)"``.
        ndim: Expected rank.

    Returns:
        The embeddings in float32 or wider, normalised along the last dimension when ``normalize``.
    """
    check_embeddings(embeddings, name, shape, ndim)
    if embeddings.dtype in (torch.float16, torch.bfloat16):
        embeddings = embeddings.float()
    return F.normalize(embeddings, dim=-1) if normalize else embeddings
