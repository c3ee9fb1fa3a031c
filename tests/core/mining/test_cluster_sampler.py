"""MCL cluster-conditioned batch sampler and multistage pseudo-labels (Zhang et al., ECCV 2024)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from cl_core.mining import ClusterBatchSampler, multistage_pseudo_labels

LABELS = torch.tensor([0, 1, 2, 0, 1, 0, 0, 2, 1, 0, 2, 2, 0])  # sizes 6, 3, 4


def test_every_batch_is_from_one_cluster_and_every_index_appears_once() -> None:
    sampler = ClusterBatchSampler(LABELS, batch_size=2, seed=0)
    batches = list(sampler)
    for batch in batches:
        assert len({int(LABELS[i]) for i in batch}) == 1
        assert 1 <= len(batch) <= 2
    assert sorted(i for batch in batches for i in batch) == list(range(len(LABELS)))
    assert len(batches) == len(sampler) == 3 + 2 + 2


def test_batches_cycle_through_the_clusters() -> None:
    """Round-robin: while every cluster still has batches, consecutive batches differ in cluster."""
    batches = list(ClusterBatchSampler(LABELS, batch_size=2, seed=1))
    clusters = [int(LABELS[batch[0]]) for batch in batches]
    assert sorted(clusters[:3]) == [0, 1, 2]
    assert sorted(clusters[3:6]) == [0, 1, 2]
    assert clusters[6] == 0  # only the largest cluster has a third batch


def test_drop_last_drops_each_clusters_short_batch() -> None:
    sampler = ClusterBatchSampler(LABELS, batch_size=4, drop_last=True, seed=0)
    batches = list(sampler)
    assert all(len(batch) == 4 for batch in batches)
    assert len(batches) == len(sampler) == 2  # clusters of 6 and 4 give one full batch each


def test_order_is_reproducible_per_epoch_and_changes_between_epochs() -> None:
    sampler = ClusterBatchSampler(LABELS, batch_size=3, seed=7)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    unshuffled = ClusterBatchSampler(LABELS, batch_size=3, shuffle=False)
    assert next(iter(unshuffled)) == [0, 3, 5]


def test_works_as_a_data_loader_batch_sampler() -> None:
    data = TensorDataset(torch.arange(len(LABELS)), LABELS)
    loader = DataLoader(data, batch_sampler=ClusterBatchSampler(LABELS, batch_size=4))
    for _, labels in loader:
        assert torch.unique(labels).numel() == 1


def test_multistage_labels_match_the_recurrence_and_separate_stage_clusters() -> None:
    stages = torch.tensor([[0, 1, 1, 2, 0], [2, 0, 2, 1, 2], [1, 1, 0, 0, 1]])
    expected = []
    for i in range(5):
        label = 0
        for s in range(3):
            label = label * 3 + int(stages[s, i])
        expected.append(label)
    labels = multistage_pseudo_labels(stages, num_clusters=3)
    assert labels.tolist() == expected
    for i in range(5):
        for j in range(5):
            same_everywhere = bool((stages[:, i] == stages[:, j]).all())
            assert (labels[i] == labels[j]).item() == same_everywhere


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        ClusterBatchSampler(LABELS, batch_size=0)
    with pytest.raises(TypeError, match="cluster_labels must be an integer tensor"):
        ClusterBatchSampler(LABELS.float(), batch_size=2)
    with pytest.raises(ValueError, match="cluster_labels must be non-empty"):
        ClusterBatchSampler(torch.zeros(0, dtype=torch.long), batch_size=2)
    with pytest.raises(ValueError, match=r"stage_assignments entries must lie in \[0, 2\)"):
        multistage_pseudo_labels(torch.tensor([[0, 2]]), num_clusters=2)
    with pytest.raises(ValueError, match="stage_assignments must be a 2-D tensor"):
        multistage_pseudo_labels(torch.tensor([0, 1]), num_clusters=2)
