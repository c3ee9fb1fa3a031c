"""Batches of row indices that keep the incomplete last batch (on one process).

:func:`cl_core.training.index_loader` drops the tail that does not fill a batch, as data-parallel
training needs equal batches on every process. Methods that fit small models on a few hundred
rows - one epoch of a 210-pair reward head is two batches of 128 and 82 - lose a large share of
their data that way and take fewer steps, so :func:`tail_index_loader` keeps the tail when one
process trains. With W > 1 processes it drops the rows that do not fill a global batch of
``W * batch_size`` (every process takes the same steps with the same batch shape) and gives
process r the r-th block of every global batch, exactly as :func:`index_loader` does.

The order of epoch ``e`` is ``randperm(n, generator=seed + e)`` (:class:`ResumableSampler`), and
the position survives a checkpoint, so a resumed run sees the same batches as an uninterrupted one.
A subclass may draw its orders otherwise by overriding :meth:`TailKeepingSampler.epoch_order`.

Example:
    >>> loader = tail_index_loader(10, 4, seed=0)
    >>> [len(batch) for batch in loader]
    [4, 4, 2]
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from cl_core.training.sampler import ResumableDataLoader, ResumableSampler, _process_group


class TailKeepingSampler(ResumableSampler):
    """A :class:`ResumableSampler` that keeps the last, smaller batch when one process trains.

    Args:
        num_samples: rows, >= 1.
        batch_size: per-process batch size, >= 1.
        seed: seed of the per-epoch permutations.
        shuffle: permute each epoch (``False`` keeps row order).

    Raises:
        ValueError: (when iterated) several processes and fewer rows than one global batch.
    """

    def num_batches(self) -> int:
        _, world = _process_group()
        if world == 1:
            return -(-self.num_samples // self.batch_size)
        if self.num_samples < world * self.batch_size:
            raise ValueError(
                f"{self.num_samples} rows do not fill one global batch of {world} processes x "
                f"{self.batch_size}; lower the batch size"
            )
        return self.num_samples // (world * self.batch_size)

    def __len__(self) -> int:
        _, world = _process_group()
        if world == 1:
            return self.num_samples
        return self.num_batches() * self.batch_size

    def epoch_order(self) -> list[int]:
        """The row order of the current epoch (``self.epoch``)."""
        if not self.shuffle:
            return list(range(self.num_samples))
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return torch.randperm(self.num_samples, generator=generator).tolist()

    def __iter__(self) -> Iterator[int]:
        rank, world = _process_group()
        order = self.epoch_order()
        global_batch = world * self.batch_size
        end = self.num_samples if world == 1 else self.num_batches() * global_batch
        for start in range(self.started_batches * global_batch, end, global_batch):
            offset = start + rank * self.batch_size
            yield from order[offset : offset + self.batch_size]


def tail_index_loader(
    num_samples: int,
    batch_size: int,
    *,
    seed: int = 0,
    shuffle: bool = True,
    sampler: TailKeepingSampler | None = None,
) -> ResumableDataLoader:
    """Batches of row indices (``LongTensor``), seeded per epoch, sharded, tail kept on one process.

    Args:
        num_samples: rows, >= 1 (the objective looks them up).
        batch_size: per-process batch size, >= 1; one process gets ``ceil(n / batch_size)``
            batches per epoch, the last one smaller when ``batch_size`` does not divide ``n``.
        seed: seed of the per-epoch order.
        shuffle: permute each epoch.
        sampler: a :class:`TailKeepingSampler` (subclass) over ``num_samples`` rows in batches of
            ``batch_size`` to use instead of the default one (``seed`` and ``shuffle`` are then
            its own).

    Returns:
        A :class:`~cl_core.training.ResumableDataLoader` (its position is checkpointed).
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    if sampler is None:
        sampler = TailKeepingSampler(num_samples, batch_size, seed=seed, shuffle=shuffle)
    elif (sampler.num_samples, sampler.batch_size) != (num_samples, batch_size):
        raise ValueError(
            f"sampler covers {sampler.num_samples} rows in batches of {sampler.batch_size}, "
            f"expected {num_samples} in batches of {batch_size}"
        )
    return ResumableDataLoader(
        range(num_samples),
        batch_size=batch_size,
        sampler=sampler,
        drop_last=False,
        generator=torch.Generator().manual_seed(seed),
    )
