"""cl_core.evaluation.memo: a memoised same-run baseline equals a fresh computation, and inputs
that differ anywhere (features, labels, options) never share an entry."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from cl_core.evaluation import frozen_probe_scores
from cl_core.evaluation.memo import (
    array_digest,
    cached_frozen_probe_scores,
    clear_probe_cache,
    probe_cache_size,
)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    clear_probe_cache()
    yield
    clear_probe_cache()


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), 12)
    x = rng.normal(size=(36, 4)) + y[:, None]
    return x[::2].astype(np.float32), y[::2], x[1::2].astype(np.float32), y[1::2]


def test_cached_value_equals_a_fresh_computation_and_is_computed_once() -> None:
    data = _data()
    fresh = frozen_probe_scores(*data, k=3)
    first = cached_frozen_probe_scores(*data, k=3)
    again = cached_frozen_probe_scores(*(a.copy() for a in data), k=3)
    assert first == fresh
    assert again == fresh
    assert probe_cache_size() == 1


def test_tensor_and_numpy_inputs_with_the_same_values_share_an_entry() -> None:
    data = _data()
    cached_frozen_probe_scores(*data, k=3)
    as_tensors = [torch.from_numpy(a) for a in data]
    assert cached_frozen_probe_scores(*as_tensors, k=3) == frozen_probe_scores(*data, k=3)
    assert probe_cache_size() == 1


def test_a_returned_dict_can_be_changed_without_changing_the_cache() -> None:
    data = _data()
    cached_frozen_probe_scores(*data, k=3)["linear_acc"] = -1.0
    assert cached_frozen_probe_scores(*data, k=3) == frozen_probe_scores(*data, k=3)


def test_different_inputs_or_options_get_their_own_entries() -> None:
    train_x, train_y, test_x, test_y = _data()
    nudged = train_x.copy()
    nudged[0, 0] = np.nextafter(nudged[0, 0], np.float32(np.inf))
    relabelled = test_y.copy()
    relabelled[[0, -1]] = relabelled[[-1, 0]]
    variants = [
        ((train_x, train_y, test_x, test_y), {"k": 3}),
        ((nudged, train_y, test_x, test_y), {"k": 3}),
        ((train_x, train_y, test_x, relabelled), {"k": 3}),
        ((train_x.astype(np.float64), train_y, test_x, test_y), {"k": 3}),
        ((train_x, train_y, test_x, test_y), {"k": 5}),
        ((train_x, train_y, test_x, test_y), {"k": 3, "seed": 1}),
    ]
    for arrays, options in variants:
        assert cached_frozen_probe_scores(*arrays, **options) == frozen_probe_scores(
            *arrays, **options
        )
    assert probe_cache_size() == len(variants)


def test_digest_covers_shape_and_dtype_not_only_bytes() -> None:
    values = np.arange(6, dtype=np.int32)
    assert array_digest(values) != array_digest(values.reshape(2, 3))
    assert array_digest(values) != array_digest(values.view(np.float32))
    assert array_digest(values) == array_digest(torch.arange(6, dtype=torch.int32))
