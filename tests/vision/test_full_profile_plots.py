"""Plots of the full-profile checks: the points they draw come from the row metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cl_vision.full_profile_plots import (
    batch_size_points,
    plot_batch_size_comparison,
    plot_batch_sizes,
    plot_views,
    views_points,
)

PNG_MAGIC = b"\x89PNG"


def test_batch_size_points_maps_each_accuracy_to_its_batch() -> None:
    points = batch_size_points({"linear_acc": 0.81, "linear_acc_b32": 0.74, "knn_acc": 0.5}, 128)
    assert points == {32: 0.74, 128: 0.81}


def test_batch_size_points_names_the_missing_metric() -> None:
    with pytest.raises(KeyError, match="linear_acc_b32"):
        batch_size_points({"linear_acc": 0.8})


def test_views_points_are_sorted_by_view_count_and_ignore_other_metrics() -> None:
    metrics = {"effective_rank_v4": 30.0, "effective_rank_v2": 20.0, "effective_rank": 30.0}
    metrics["effective_rank_v3"] = 25.0
    assert list(views_points(metrics).items()) == [(2, 20.0), (3, 25.0), (4, 30.0)]


def test_views_points_without_view_metrics_is_an_error() -> None:
    with pytest.raises(KeyError, match="effective_rank_v"):
        views_points({"effective_rank": 3.0})


def test_plots_write_png_files(tmp_path: Path) -> None:
    batch = plot_batch_sizes({"simclr": {32: 0.7, 256: 0.8}}, tmp_path / "a" / "batch.png")
    views = plot_views({2: 20.0, 4: 30.0}, tmp_path / "views.png")
    assert batch.read_bytes()[:4] == PNG_MAGIC
    assert views.read_bytes()[:4] == PNG_MAGIC


def test_empty_plot_inputs_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="curves"):
        plot_batch_sizes({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="points"):
        plot_views({}, tmp_path / "x.png")


def test_comparison_plot_reads_the_full_rows_of_a_results_file(tmp_path: Path) -> None:
    rows = [
        {"method": "simclr", "dataset": "fashion-mnist", "metrics": {"linear_acc": 0.8}},
        {
            "method": "dcl",
            "dataset": "fashion-mnist",
            "metrics": {"linear_acc": 0.8, "linear_acc_b32": 0.78},
        },
    ]
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"rows": rows}), encoding="utf-8")
    plot = plot_batch_size_comparison(results, tmp_path / "cmp.png")
    assert plot.read_bytes()[:4] == PNG_MAGIC
    results.write_text(json.dumps({"rows": rows[:1]}), encoding="utf-8")
    with pytest.raises(ValueError, match="no row with linear_acc_b32"):
        plot_batch_size_comparison(results, tmp_path / "none.png")
