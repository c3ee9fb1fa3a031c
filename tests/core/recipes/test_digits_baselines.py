"""The core digits rows' same-run baselines: memoised on their exact features, so the three
methods' rows probe the shared random-init encoder and raw pixels once, with fresh values."""

from __future__ import annotations

from cl_core.evaluation import frozen_probe_scores
from cl_core.evaluation.memo import clear_probe_cache, probe_cache_size
from cl_core.recipes.core_methods import build_module
from cl_core.recipes.digits_bench import digits_baselines
from cl_core.recipes.digits_data import load_digits_split
from cl_core.threads import cpu_threads


def test_rows_share_the_baselines_of_one_split_and_get_fresh_values() -> None:
    clear_probe_cache()
    split = load_digits_split(0)
    try:
        with cpu_threads(1):
            random_init, pixels = digits_baselines("simclr", split, seed=0)
            untrained = build_module("simclr", split, lr=1e-3, seed=0)
            fresh_random = frozen_probe_scores(
                untrained.encode(split.train_x),
                split.train_y,
                untrained.encode(split.test_x),
                split.test_y,
            )
            fresh_pixels = frozen_probe_scores(
                split.train_x, split.train_y, split.test_x, split.test_y
            )
            assert (random_init, pixels) == (fresh_random, fresh_pixels)
            assert probe_cache_size() == 2
            for method in ("dcl", "supcon"):
                assert digits_baselines(method, split, seed=0) == (random_init, pixels)
            assert probe_cache_size() == 2
            # Another seed is another split and other weights: new entries, not the cached ones.
            digits_baselines("simclr", load_digits_split(1), seed=1)
            assert probe_cache_size() == 4
    finally:
        clear_probe_cache()
