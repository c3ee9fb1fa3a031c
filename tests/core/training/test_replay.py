"""ReplayBatches: the caller's stream draws each epoch's order; its state survives a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cl_core.training.replay import ReplayBatches


def _batches(seed: int = 0, **kwargs) -> tuple[ReplayBatches, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return ReplayBatches(10, 4, lambda: rng.permutation(10), generators=(rng,), **kwargs), rng


def test_each_epoch_draws_its_order_from_the_callers_stream_like_a_plain_loop():
    batches, rng = _batches()
    reference = np.random.default_rng(0)
    for epoch in range(2):
        expected = reference.permutation(10)
        got = list(batches)
        assert batches.epoch == epoch and len(got) == len(batches) == 2
        np.testing.assert_array_equal(torch.cat(got).numpy(), expected[:8])
        reference.random(3)  # the objective's draws between epochs
        rng.random(3)


def test_a_tail_of_at_least_min_batch_rows_is_kept():
    batches, _ = _batches(min_batch=2)
    assert [len(b) for b in batches] == [4, 4, 2] and len(batches) == 3
    assert [len(b) for b in _batches(min_batch=3)[0]] == [4, 4]


def test_state_resumes_mid_epoch_with_the_generators_where_they_were():
    batches, rng = _batches()
    iterator = iter(batches)
    first = next(iterator)
    batches.mark_started(0)
    rng.random(5)
    state = batches.state_dict()
    expected_rest, expected_draw = next(iterator), rng.random()
    restored, fresh = _batches(seed=99)
    restored.load_state_dict(state)
    rest = list(restored)
    assert len(rest) == 1 and not torch.equal(rest[0], first)
    torch.testing.assert_close(rest[0], expected_rest)
    assert fresh.random() == expected_draw
    assert len(list(restored)) == 2 and restored.epoch == 1  # the next epoch starts afresh


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="num_samples"):
        ReplayBatches(0, 4, lambda: [])
    with pytest.raises(TypeError, match="draw_order"):
        ReplayBatches(4, 2, None)
    with pytest.raises(TypeError, match="generators"):
        ReplayBatches(4, 2, lambda: range(4), generators=(0,))
