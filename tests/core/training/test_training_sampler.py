"""The resumable, sharded sampler behind exact mid-epoch resume."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from cl_core.training import ResumableSampler, resumable_loader
from cl_core.training import sampler as sampler_module


def batches(sampler: ResumableSampler) -> list[list[int]]:
    indices = list(sampler)
    size = sampler.batch_size
    return [indices[i : i + size] for i in range(0, len(indices), size)]


def test_each_epoch_is_a_seeded_permutation_without_the_ragged_tail() -> None:
    sampler = ResumableSampler(23, batch_size=5, seed=4)
    first = list(sampler)
    assert len(first) == len(sampler) == 20
    assert len(set(first)) == 20
    assert first == torch.randperm(23, generator=torch.Generator().manual_seed(4)).tolist()[:20]
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_resumed_sampler_yields_exactly_the_remaining_batches() -> None:
    uninterrupted = ResumableSampler(40, batch_size=4, seed=1)
    uninterrupted.set_epoch(2)
    expected = batches(uninterrupted)
    interrupted = ResumableSampler(40, batch_size=4, seed=1)
    interrupted.set_epoch(2)
    interrupted.mark_started(2)  # batches 0, 1, 2 were trained before the checkpoint
    resumed = ResumableSampler(40, batch_size=4, seed=99)
    resumed.load_state_dict(interrupted.state_dict())
    resumed.set_epoch(2)  # Lightning calls this again on restart; it must not rewind
    assert batches(resumed) == expected[3:]


def test_a_new_epoch_starts_from_its_first_batch() -> None:
    sampler = ResumableSampler(12, batch_size=3)
    sampler.mark_started(1)
    sampler.set_epoch(1)
    assert len(list(sampler)) == 12


def test_shards_concatenate_to_the_single_process_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    single = batches(ResumableSampler(30, batch_size=6, seed=2))
    per_rank = []
    for rank in range(2):
        monkeypatch.setattr(sampler_module, "_process_group", lambda rank=rank: (rank, 2))
        per_rank.append(batches(ResumableSampler(30, batch_size=3, seed=2)))
    joined = [a + b for a, b in zip(*per_rank, strict=True)]
    assert joined == single[: len(joined)]
    assert len(joined) == 5


def test_loader_state_round_trips_through_the_sampler() -> None:
    loader = resumable_loader(TensorDataset(torch.arange(10.0)), batch_size=2, seed=3)
    loader.sampler.mark_started(1)
    state = loader.state_dict()
    other = resumable_loader(TensorDataset(torch.arange(10.0)), batch_size=2, seed=0)
    other.load_state_dict(state)
    assert [b[0].tolist() for b in other] == [b[0].tolist() for b in loader]
    assert len(list(other)) == 3


@pytest.mark.parametrize(("num_samples", "batch_size"), [(0, 2), (5, 0)])
def test_sampler_rejects_empty_sizes(num_samples: int, batch_size: int) -> None:
    with pytest.raises(ValueError, match=r"num_samples|batch_size"):
        ResumableSampler(num_samples, batch_size)


def test_loader_rejects_an_iterable_dataset() -> None:
    with pytest.raises(TypeError, match="dataset"):
        resumable_loader(iter(range(3)), batch_size=2)  # type: ignore[arg-type]
