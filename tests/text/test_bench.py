"""cl-bench recipes: import-light registration and a tiny real run of every method."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cl_core.registry import BenchContext
from cl_text import bench_classification, bench_run
from cl_text.bench import RECIPES

pytestmark = [
    # Lightning reports a small dataloader as a bottleneck; these runs are deliberately tiny.
    pytest.mark.filterwarnings(
        "ignore:The 'train_dataloader' does not have many workers:UserWarning"
    ),
    # Lightning 2.6's pytree helper uses torch's deprecated LeafSpec on every batch.
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
]


def test_recipes_are_import_light() -> None:
    code = "import sys, cl_text.bench, cl_text.cli; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_every_method_has_a_recipe_with_a_real_data_card() -> None:
    assert {r.method for r in RECIPES} == {
        "simcse",
        "simcse-sup",
        "debcse",
        "whitenedcse",
        "viclsr",
        "input-label",
    }
    for recipe in RECIPES:
        assert callable(recipe.load())
        assert all(d.kind == "real" and d.card for d in recipe.datasets)


@pytest.mark.parametrize(
    "method",
    [
        "simcse-sup",
        pytest.param("whitenedcse", marks=pytest.mark.slow),
        pytest.param("debcse", marks=pytest.mark.slow),
    ],
)
def test_tiny_bench_run_reports_method_and_baseline(
    method: str, sts_dir: Path, wordnet_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_run, "QUICK_PAIRS", 12)
    monkeypatch.setattr(bench_run, "QUICK_STEPS", 1)
    monkeypatch.setattr(bench_run, "QUICK_BATCH", 8)
    recipe = next(r for r in RECIPES if r.method == method)
    context = BenchContext(
        dataset=recipe.datasets[0].name,
        profile="quick",
        seed=0,
        data_dir=sts_dir.parent,
        out_dir=tmp_path,
    )
    result = recipe.load()(context)
    key = "STS Avg. (Spearman x100)"
    assert result.method == method and result.data_kind == "real"
    assert key in result.metrics and key in result.baselines["base all-MiniLM-L6-v2"]
    assert result.train_time_s > 0 and result.samples_per_s > 0
    assert "first 12 pairs" in result.notes


@pytest.mark.slow
def test_tiny_input_label_bench_run_reports_softmax_zero_shot_and_majority_baselines(
    sts_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_classification, "QUICK_STEPS", 1)
    monkeypatch.setattr(bench_classification, "QUICK_BATCH", 4)
    monkeypatch.setattr(bench_classification, "QUICK_TEST", 8)
    recipe = next(r for r in RECIPES if r.method == "input-label")
    context = BenchContext(
        dataset="sick-entailment",
        profile="quick",
        seed=0,
        data_dir=sts_dir.parent,
        out_dir=tmp_path,
    )
    result = recipe.load()(context)
    assert result.data_kind == "real" and "first 8 test pairs" in result.notes
    assert set(result.metrics) == {"test accuracy (%)", "test macro-F1 (x100)"}
    assert len(result.baselines) == 3
    assert all(0 <= v <= 100 for scores in result.baselines.values() for v in scores.values())
