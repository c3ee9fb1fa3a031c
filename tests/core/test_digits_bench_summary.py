"""The digits bench rows summarise per-seed probe scores: means and stds, the chosen C by median."""

from __future__ import annotations

import pytest

from cl_core.recipes.digits_bench import _with_spread


def test_seed_summary_takes_the_median_of_the_chosen_c_and_the_mean_of_the_scores() -> None:
    runs = [
        {"linear_acc": 0.90, "linear_c": 1.0},
        {"linear_acc": 0.93, "linear_c": 10.0},
        {"linear_acc": 0.96, "linear_c": 1.0},
    ]
    summary = _with_spread(runs)
    assert summary["linear_acc"] == pytest.approx(0.93)
    assert summary["linear_acc_std"] == pytest.approx(0.03)
    assert summary["linear_c"] == 1.0, "a C from the grid, not the mean 4.0"
    assert "linear_c_std" not in summary
