"""Batches whose order a method's own random stream draws, so a ported loop keeps its numbers.

A hand-written loop often draws each epoch's order from the same generator that its augmentation
or loss then draws from (``order = rng.permutation(n)`` followed by crops, caption edits or
sampled negatives). :func:`~cl_core.training.index_loader` draws the order from a separate
per-epoch seed instead, which changes every later draw. :class:`ReplayBatches` calls the method's
own ``draw_order`` at the start of each epoch, so under :func:`~cl_core.training.fit_objective`
one process sees exactly the batches and random draws of the loop it replaces.

It also keeps what the engine needs: with W processes rank 0's order is broadcast and rank ``r``
takes the ``r``-th block of ``batch_size`` rows of every global batch (the processes' batches
concatenated in rank order are the batch of one process at ``W * batch_size``); the state of the
generators and the position in the epoch go into every checkpoint, so ``--resume`` continues the
same stream. Pass :meth:`ReplayBatches.tracker` as a callback so the position follows the
training loop (Lightning fetches one batch ahead).

For the global torch stream (dropout, augmentation without a generator) pair it with
:class:`~cl_core.training.random_state.KeepRandomState`.

Example:
    >>> rng = np.random.default_rng(0)
    >>> batches = ReplayBatches(10, 4, lambda: rng.permutation(10), generators=(rng,))
    >>> [len(b) for b in batches], len(batches)
    ([4, 4], 2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor

from cl_core.distributed import is_distributed, rank, world_size

Generator = np.random.Generator | torch.Generator


class ReplayBatches:
    """Index batches (``LongTensor``) in an order drawn by the caller at each epoch's start.

    Args:
        num_samples: rows in the data (>= 1).
        batch_size: rows per batch and process (>= 1), capped at ``num_samples``.
        draw_order: called once per epoch, on every process, before its first batch; returns a
            permutation (or any sequence) of row indices of length >= the rows used.
        generators: the random streams that ``draw_order`` and the objective draw from; their
            states are saved in checkpoints and restored on resume.
        min_batch: a tail batch with at least this many rows is kept (default ``batch_size``:
            incomplete tails are dropped). With several processes only full global batches are
            used.

    Attributes:
        epoch: the epoch whose batches are being handed out (0-based; -1 before the first).
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        draw_order: Callable[[], Sequence[int] | np.ndarray | Tensor],
        *,
        generators: Sequence[Generator] = (),
        min_batch: int | None = None,
    ) -> None:
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not callable(draw_order):
            raise TypeError(f"draw_order must be callable, got {type(draw_order).__name__}")
        for generator in generators:
            if not isinstance(generator, Generator):
                raise TypeError(
                    "generators must hold numpy or torch generators, got "
                    f"{type(generator).__name__}"
                )
        self.num_samples = num_samples
        self.batch_size = min(batch_size, num_samples)
        self.min_batch = self.batch_size if min_batch is None else max(1, min_batch)
        self.draw_order = draw_order
        self.generators = tuple(generators)
        self.epoch = -1
        self.started_batches = 0
        self._order: Tensor | None = None
        self._finished = False

    def __len__(self) -> int:
        world = world_size()
        if world > 1:
            return self.num_samples // (world * self.batch_size)
        full, tail = divmod(self.num_samples, self.batch_size)
        return full + int(tail >= self.min_batch and tail > 0)

    def _new_order(self) -> Tensor:
        order = torch.as_tensor(np.asarray(self.draw_order()), dtype=torch.long)
        if is_distributed() and world_size() > 1:
            shared = [order]
            torch.distributed.broadcast_object_list(shared, src=0)
            order = shared[0]
        return order

    def __iter__(self) -> Iterator[Tensor]:
        if self._order is None or self._finished or self.started_batches >= len(self):
            self._order = self._new_order()
            self.epoch += 1
            self.started_batches = 0
        self._finished = False
        world, offset = world_size(), rank() * self.batch_size
        step = world * self.batch_size
        for batch in range(self.started_batches, len(self)):
            start = batch * step + offset
            yield self._order[start : start + self.batch_size]
        self._finished = True

    def mark_started(self, batch_index: int) -> None:
        """Record that training has started batch ``batch_index`` (0-based) of this epoch."""
        self.started_batches = batch_index + 1

    def tracker(self) -> pl.Callback:
        """A callback that tells these batches which one the training loop has started."""
        return _TrackReplay(self)

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "started_batches": self.started_batches,
            "order": self._order,
            "generators": [_generator_state(g) for g in self.generators],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.started_batches = int(state["started_batches"])
        self._order = state["order"]
        self._finished = False
        for generator, saved in zip(self.generators, state["generators"], strict=True):
            if isinstance(generator, np.random.Generator):
                generator.bit_generator.state = saved
            else:
                generator.set_state(saved)


def _generator_state(generator: Generator) -> Any:
    if isinstance(generator, np.random.Generator):
        return generator.bit_generator.state
    return generator.get_state()


class _TrackReplay(pl.Callback):
    def __init__(self, batches: ReplayBatches) -> None:
        self.batches = batches

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.batches.mark_started(batch_idx)
