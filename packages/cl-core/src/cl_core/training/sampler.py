"""A seeded, sharded batch sampler whose position survives a checkpoint, for exact mid-epoch resume.

Lightning saves the ``state_dict()`` of every training dataloader that has one and restores it
before iterating again. Lightning fetches one batch ahead of the training step, so a sampler cannot
count its own yields: :class:`ResumableSampler` records the batches the *training loop* has started
(:meth:`ResumableSampler.mark_started`, called by the
:class:`~cl_core.training.resume.TrackSamplerProgress` callback that
:func:`~cl_core.training.make_trainer` installs) and, on resume, skips exactly those.
The order of epoch ``e`` is a permutation drawn from ``seed + e`` alone, so a resumed run sees the
same batches as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def _process_group() -> tuple[int, int]:
    """(rank, world size) of the default process group, or (0, 1) without one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class ResumableSampler(Sampler[int]):
    """Indices of a seeded per-epoch permutation, sharded over processes, resumable mid-epoch.

    Epoch ``e`` uses ``randperm(n, generator=seed + e)`` (or ``range(n)`` without shuffling), drops
    the tail that does not fill ``world_size * batch_size`` samples, and gives process ``r`` the
    ``r``-th block of ``batch_size`` indices of every global batch: concatenating the processes'
    batches in rank order gives the global batch of one process with ``world_size * batch_size``.
    It yields ``len(self)`` indices; a loader with the same ``batch_size`` groups them into batches.

    Args:
        num_samples: dataset length, >= 1.
        batch_size: per-process batch size, >= 1.
        seed: seed of the per-epoch permutations.
        shuffle: permute each epoch (``False`` keeps dataset order).

    Example:
        >>> sampler = ResumableSampler(10, batch_size=4, seed=0)
        >>> len(sampler)
        8
    """

    def __init__(self, num_samples: int, batch_size: int, *, seed: int = 0, shuffle: bool = True):
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        self.started_batches = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before each epoch; a new epoch starts from its first batch."""
        if epoch != self.epoch:
            self.epoch = epoch
            self.started_batches = 0

    def mark_started(self, batch_index: int) -> None:
        """Record that training has started batch ``batch_index`` (0-based) of this epoch."""
        self.started_batches = batch_index + 1

    def num_batches(self) -> int:
        """Batches per epoch and process."""
        _, world = _process_group()
        return self.num_samples // (world * self.batch_size)

    def __len__(self) -> int:
        return self.num_batches() * self.batch_size

    def __iter__(self) -> Iterator[int]:
        rank, world = _process_group()
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.num_samples, generator=generator).tolist()
        else:
            order = list(range(self.num_samples))
        global_batch = world * self.batch_size
        first = self.started_batches * global_batch
        for start in range(first, self.num_batches() * global_batch, global_batch):
            offset = start + rank * self.batch_size
            yield from order[offset : offset + self.batch_size]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "started_batches": self.started_batches, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch = int(state["epoch"])
        self.started_batches = int(state["started_batches"])
        self.seed = int(state["seed"])


class ResumableDataLoader(DataLoader):
    """A :class:`~torch.utils.data.DataLoader` over a :class:`ResumableSampler`.

    It exposes ``state_dict``/``load_state_dict`` so Lightning stores the sampler position in every
    checkpoint. Build it with :func:`resumable_loader`.
    """

    sampler: ResumableSampler

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)


def resumable_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    seed: int = 0,
    shuffle: bool = True,
    num_workers: int = 0,
    **loader_kwargs: Any,
) -> ResumableDataLoader:
    """A training loader whose position is checkpointed, for exact mid-epoch resume.

    Args:
        dataset: a map-style dataset (it must have ``__len__``).
        batch_size: per-process batch size.
        seed: seed of the per-epoch order.
        shuffle: permute each epoch.
        num_workers: worker processes for loading.
        **loader_kwargs: passed to :class:`~torch.utils.data.DataLoader` (e.g. ``collate_fn``).

    Returns:
        A :class:`ResumableDataLoader`. Under DDP it shards itself, so build the trainer with
        ``use_distributed_sampler=False`` (the default of :func:`~cl_core.training.make_trainer`).

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> loader = resumable_loader(TensorDataset(torch.arange(8.0)), batch_size=4)
        >>> len(next(iter(loader))[0])
        4
    """
    if not isinstance(dataset, Sized):
        raise TypeError(f"dataset must be a map-style dataset with __len__, got {type(dataset)}")
    sampler = ResumableSampler(len(dataset), batch_size, seed=seed, shuffle=shuffle)
    # A private generator: each new iterator draws its worker base seed from it, and drawing from
    # the global RNG instead would shift dropout noise after a resume.
    loader_kwargs.setdefault("generator", torch.Generator().manual_seed(seed))
    return ResumableDataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=num_workers,
        **loader_kwargs,
    )
