"""A stateful base for metrics that need all embeddings at once (pairwise terms, spectra)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ConcatenatingMetric(nn.Module):
    """Collects detached batches with ``update`` and hands their concatenation to ``compute``.

    Pairwise metrics (uniformity, tolerance) and spectral ones (effective rank) are not sums over
    batches, so the stateful wrapper keeps the batches and calls the functional metric once on
    all of them. Subclasses implement ``compute``; ``reset`` empties the state.
    """

    def __init__(self) -> None:
        super().__init__()
        self._batches: list[tuple[Tensor, ...]] = []

    def _store(self, *tensors: Tensor) -> None:
        self._batches.append(tuple(t.detach() for t in tensors))

    def _concatenated(self) -> tuple[Tensor, ...]:
        if not self._batches:
            raise RuntimeError(f"{type(self).__name__}.compute() called before any update()")
        return tuple(torch.cat(parts) for parts in zip(*self._batches, strict=True))

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._batches = []
