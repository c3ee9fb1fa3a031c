"""Training protocol, experiment aggregation and the cl-bench recipe on tiny real slices."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from cl_core.registry import BenchContext, BenchRecipe
from cl_regression.data import load_diabetes_table
from cl_regression.experiment import ExperimentSpec, run_experiment
from cl_regression.training import METHODS, TrainConfig, TrainedRegressor, fit_regressor

TINY = TrainConfig(epochs=2, batch_size=32, hidden=(16,), embedding_dim=8)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes_table().arrays()


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_and_predicts_in_target_units(diabetes, method):
    features, targets = diabetes
    fitted = fit_regressor(method, features[:120], targets[:120], config=TINY, seed=0)
    predictions = fitted.predict(features[120:160])
    assert predictions.shape == (40,) and np.isfinite(predictions).all()
    assert targets.min() - 100 < predictions.mean() < targets.max() + 100
    assert fitted.embed(features[:5]).shape == (5, 8)
    assert fitted.samples_seen == 2 * 120


def test_state_round_trip_gives_the_same_predictions(diabetes):
    features, targets = diabetes
    fitted = fit_regressor("rnc", features[:80], targets[:80], config=TINY, seed=1)
    restored = TrainedRegressor.from_state(fitted.state())
    np.testing.assert_allclose(restored.predict(features[80:90]), fitted.predict(features[80:90]))


def test_training_is_reproducible_for_a_seed(diabetes):
    features, targets = diabetes
    first = fit_regressor("supremix", features[:80], targets[:80], config=TINY, seed=3)
    second = fit_regressor("supremix", features[:80], targets[:80], config=TINY, seed=3)
    np.testing.assert_allclose(first.predict(features[:10]), second.predict(features[:10]))


def test_transfer_probe_predicts_the_probe_target(diabetes):
    features, targets = diabetes
    other = features[:100, 2] * 1000.0
    fitted = fit_regressor(
        "l1", features[:100, 3:], targets[:100], config=TINY, probe_targets=other
    )
    assert abs(np.median(fitted.predict(features[:100, 3:])) - np.median(other)) < other.std()


def test_bad_training_arguments(diabetes):
    features, targets = diabetes
    with pytest.raises(ValueError, match="method must be one of"):
        fit_regressor("mse", features, targets)
    with pytest.raises(ValueError, match="features must be"):
        fit_regressor("l1", features[:, 0], targets)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="binning must be"):
        TrainConfig(binning="log")


def test_experiment_aggregates_mean_and_std_over_seeds():
    table = load_diabetes_table()
    spec = ExperimentSpec("few_shot", split={"few_shot_size": 60, "max_test": 50})
    result = run_experiment(table, spec, methods=("l1", "rnc"), seeds=(0, 1), config=TINY)
    assert set(result.metrics) == {"l1", "rnc"}
    for metrics in result.metrics.values():
        assert metrics["mae"] > 0 and metrics["mae_std"] >= 0
        assert -1 <= metrics["spearman"] <= 1
    assert result.num_train == 60 and result.num_test == 50


def test_recipes_are_import_light_and_point_at_real_functions():
    import subprocess
    import sys

    code = "import sys, cl_regression.bench, cl_regression.cli; print('torch' in sys.modules)"
    light = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert light.stdout.strip() == "False"
    recipes = importlib.import_module("cl_regression.bench").RECIPES
    assert all(isinstance(recipe, BenchRecipe) for recipe in recipes)
    kinds = {recipe.datasets[0].name: recipe.datasets[0].kind for recipe in recipes}
    assert kinds.pop("rotated-fashion-mnist") == "real+synthetic-target"
    assert set(kinds.values()) == {"real"}
    assert callable(recipes[0].load())
    quick = [recipe.datasets[0].name for recipe in recipes if "quick" in recipe.profiles]
    assert quick == ["diabetes", "diamonds-fewshot", "rotated-fashion-mnist"]
    assert len({recipe.datasets[0].name for recipe in recipes}) == len(recipes)


def test_bench_recipe_returns_a_row_with_baselines(tmp_path: Path, monkeypatch):
    from cl_regression import bench_run

    monkeypatch.setitem(
        bench_run._PROFILE_SETTINGS,
        "quick",
        {**bench_run._PROFILE_SETTINGS["smoke"], "max_train": 60, "max_test": 40},
    )
    context = BenchContext(
        dataset="diabetes", profile="quick", seed=0, data_dir=None, out_dir=tmp_path
    )
    row = bench_run.run_supremix(context)
    assert row.method == "supremix" and row.data_kind == "real"
    assert set(row.baselines) == {"l1", "l2", "supcon", "rnc"}
    assert row.metrics["mae"] > 0 and row.train_time_s > 0 and row.samples_per_s > 0
    assert "Real" in row.notes and (tmp_path / "regression-diabetes.json").is_file()
    with pytest.raises(ValueError, match="profile must be one of"):
        bench_run.run_supremix(
            BenchContext(
                dataset="diabetes", profile="huge", seed=0, data_dir=None, out_dir=tmp_path
            )
        )
    with pytest.raises(ValueError, match="dataset must be one of"):
        bench_run.run_supremix(
            BenchContext(dataset="mnist", profile="quick", seed=0, data_dir=None, out_dir=tmp_path)
        )


def test_run_cell_one_seed_at_a_time_equals_the_multi_seed_run(monkeypatch):
    from cl_regression import bench_run

    monkeypatch.setitem(
        bench_run._PROFILE_SETTINGS,
        "smoke",
        {**bench_run._PROFILE_SETTINGS["smoke"], "max_train": 40, "max_test": 30},
    )
    methods = ("supremix", "l1")
    both = bench_run.run_cell("diabetes", "smoke", (0, 1), methods=methods)
    single = [bench_run.run_cell("diabetes", "smoke", (seed,), methods=methods) for seed in (0, 1)]
    assert both.seeds == (0, 1) and both.methods == methods
    assert set(both.result.metrics) == set(methods)
    assert both.result.num_train == 40 and both.result.num_test == 30
    for method in methods:
        per_seed = [run.result.metrics[method]["mae"] for run in single]
        assert per_seed[0] != per_seed[1]
        assert both.result.metrics[method]["mae"] == pytest.approx(sum(per_seed) / 2)
    with pytest.raises(ValueError, match="image rows only"):
        bench_run.run_cell("diabetes", "smoke", (0,), num_images=100)
    with pytest.raises(ValueError, match="at least one seed"):
        bench_run.run_cell("diabetes", "smoke", ())
    with pytest.raises(ValueError, match="dataset must be one of"):
        bench_run.run_cell("mnist", "smoke", (0,))
