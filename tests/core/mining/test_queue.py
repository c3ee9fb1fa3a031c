"""FIFO feature queue and NNCLR nearest-neighbour support (Dwibedi et al. 2021)."""

from __future__ import annotations

import pytest
import torch

from cl_core.mining import FeatureQueue, NearestNeighbourSupport, nearest_neighbours


def rows(start, stop):
    return torch.arange(start, stop, dtype=torch.float32).unsqueeze(1).repeat(1, 2)


def test_queue_fills_then_overwrites_the_oldest_rows() -> None:
    queue = FeatureQueue(size=5, dim=2)
    assert len(queue) == 0
    queue.enqueue(rows(0, 3))
    assert len(queue) == 3
    assert torch.equal(queue.contents(), rows(0, 3))
    queue.enqueue(rows(3, 7))  # wraps: 0 and 1 are overwritten
    assert len(queue) == 5
    assert torch.equal(queue.contents(), rows(2, 7))
    queue.enqueue(rows(7, 8))
    assert torch.equal(queue.contents(), rows(3, 8))


def test_queue_matches_a_list_model_over_many_batch_sizes() -> None:
    queue, model = FeatureQueue(size=7, dim=2), []
    start = 0
    for batch in [1, 3, 6, 2, 7, 4, 5, 1]:
        queue.enqueue(rows(start, start + batch))
        model.extend(range(start, start + batch))
        model = model[-7:]
        start += batch
        assert queue.contents()[:, 0].tolist() == [float(v) for v in model]


def test_batch_larger_than_the_queue_keeps_its_last_rows() -> None:
    queue = FeatureQueue(size=3, dim=2)
    queue.enqueue(rows(0, 10))
    assert torch.equal(queue.contents(), rows(7, 10))


def test_enqueued_rows_are_detached_copies_in_the_queue_dtype() -> None:
    queue = FeatureQueue(size=4, dim=2, dtype=torch.float64)
    batch = torch.ones(2, 2, requires_grad=True)
    queue.enqueue(batch * 2)
    assert not queue.features.requires_grad
    assert queue.contents().dtype == torch.float64
    with torch.no_grad():
        batch.add_(5.0)
    assert torch.equal(queue.contents(), torch.full((2, 2), 2.0, dtype=torch.float64))


def test_state_dict_round_trip_restores_contents_and_pointer() -> None:
    queue = FeatureQueue(size=4, dim=2)
    queue.enqueue(rows(0, 6))
    restored = FeatureQueue(size=4, dim=2)
    restored.load_state_dict(queue.state_dict())
    restored.enqueue(rows(6, 7))
    queue.enqueue(rows(6, 7))
    assert torch.equal(restored.contents(), queue.contents())
    queue.reset()
    assert len(queue) == 0


def test_nearest_neighbours_match_a_cosine_loop() -> None:
    generator = torch.Generator().manual_seed(0)
    queries = torch.randn(6, 3, generator=generator)
    support = torch.randn(10, 3, generator=generator) * torch.rand(10, 1, generator=generator) * 5
    neighbours, indices = nearest_neighbours(queries, support)
    for i in range(6):
        cosines = [
            float(torch.dot(queries[i], s) / (queries[i].norm() * s.norm())) for s in support
        ]
        assert int(indices[i]) == max(range(10), key=lambda j: cosines[j])
        assert torch.equal(neighbours[i], support[indices[i]])


def test_support_returns_rows_of_the_queue_from_before_the_update() -> None:
    generator = torch.Generator().manual_seed(1)
    support = NearestNeighbourSupport(size=8, dim=3)
    warm_up = torch.randn(8, 3, generator=generator)
    support.queue.enqueue(warm_up)
    batch = torch.randn(4, 3, generator=generator, requires_grad=True)
    neighbours = support(batch)
    assert not neighbours.requires_grad
    for row in neighbours:
        assert any(torch.equal(row, stored) for stored in warm_up)
    # The batch was enqueued after the lookup: it now sits at the end of the queue.
    assert torch.equal(support.queue.contents()[-4:], batch.detach())
    # Looking the batch up again now returns itself, since it is in the queue.
    assert torch.equal(support(batch.detach(), update=False), batch.detach())


def test_update_false_leaves_the_queue_unchanged() -> None:
    support = NearestNeighbourSupport(size=4, dim=2)
    support.queue.enqueue(rows(1, 3))
    before = support.queue.contents().clone()
    support(torch.randn(3, 2), update=False)
    assert torch.equal(support.queue.contents(), before)


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="size must be an int >= 1"):
        FeatureQueue(size=0, dim=2)
    queue = FeatureQueue(size=3, dim=2)
    with pytest.raises(ValueError, match="batch must have the same embedding width D=2"):
        queue.enqueue(torch.randn(2, 3))
    with pytest.raises(ValueError, match="batch must be finite"):
        queue.enqueue(torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(RuntimeError, match="support queue is empty"):
        NearestNeighbourSupport(size=3, dim=2)(torch.randn(1, 2))
    with pytest.raises(ValueError, match="support must be non-empty"):
        nearest_neighbours(torch.randn(2, 2), torch.zeros(0, 2))
