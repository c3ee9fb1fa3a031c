"""Real tables load offline with the documented shapes; CSV errors are one line naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from cl_regression.data import (
    load_csv_table,
    load_diabetes_table,
    load_diamonds_table,
    load_randhie_table,
    make_regime_split,
)
from cl_regression.data.csv_table import TableError


def test_diabetes_table_is_the_real_sklearn_data():
    table = load_diabetes_table()
    features, targets = table.arrays()
    assert features.shape == (442, 10)
    assert targets.min() == 25 and targets.max() == 346
    assert "Real" in table.card


def test_randhie_table_has_the_statsmodels_shape_and_skewed_target():
    table = load_randhie_table()
    features, targets = table.arrays()
    assert features.shape == (20190, 9)
    assert np.median(targets) < targets.mean()


def test_diamonds_table_orders_categories_and_logs_price():
    table = load_diamonds_table()
    features, targets = table.arrays()
    assert features.shape == (53940, 9)
    assert set(table.frame["cut"].unique()) == set(range(5))
    np.testing.assert_allclose(targets[:2], np.log([326, 326]))


def test_arrays_can_use_another_target_and_drop_columns():
    table = load_diabetes_table()
    features, targets = table.arrays("bmi", drop=("target",))
    assert features.shape == (442, 9)
    np.testing.assert_array_equal(targets, table.frame["bmi"].to_numpy())
    with pytest.raises(ValueError, match="target column 'nope' not in table 'diabetes'"):
        table.arrays("nope")


def test_csv_table_codes_text_columns_and_drops_incomplete_rows(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("size,city,price\n50,a,100\n70,b,150\n,a,90\n60,b,120\n")
    table = load_csv_table(path, "price")
    assert list(table.frame.columns) == ["size", "city", "price"]
    assert len(table.frame) == 3
    assert sorted(table.frame["city"].unique()) == [0.0, 1.0]


@pytest.mark.parametrize(
    ("content", "target", "match"),
    [
        ("", "y", "houses.csv: the file is empty"),
        ("x,y\n", "y", "header but no data rows"),
        ("x,y\n1,2\n", "z", "no column 'z'; columns are x, y"),
        (
            "x,y\n1,2\n3,abc\n",
            "y",
            r"houses.csv:3: target column 'y' is not numeric \(value 'abc'\)",
        ),
        ("y\n1\n2\n", "y", "needs at least one feature column"),
    ],
)
def test_csv_table_errors_name_the_file(tmp_path, content, target, match):
    path = tmp_path / "houses.csv"
    path.write_text(content)
    with pytest.raises(TableError, match=match):
        load_csv_table(path, target)


def test_csv_table_missing_file(tmp_path):
    with pytest.raises(TableError, match="no such file"):
        load_csv_table(tmp_path / "absent.csv", "y")


def test_imbalanced_split_skews_the_training_labels_only():
    targets = np.random.default_rng(0).uniform(0, 1, 5000)
    split = make_regime_split(targets, "imbalanced", seed=0, imbalance_ratio=50.0)
    train, test = targets[split.train_index], targets[split.test_index]
    assert not set(split.train_index) & set(split.test_index)
    assert (train < 0.2).sum() > 10 * (train > 0.8).sum()
    assert abs(np.mean(test) - 0.5) < 0.05


def test_few_shot_and_caps():
    targets = np.arange(200.0)
    split = make_regime_split(targets, "few_shot", seed=1, few_shot_size=12, max_test=7)
    assert len(split.train_index) == 12 and len(split.test_index) == 7
    standard = make_regime_split(targets, "standard", seed=1, max_train=30)
    assert len(standard.train_index) == 30 and len(standard.test_index) == 40


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"regime": "tail"}, "regime must be one of"),
        ({"test_fraction": 1.0}, "test_fraction must lie in"),
        ({"imbalance_ratio": 0.5}, "imbalance_ratio must be >= 1"),
        ({"regime": "few_shot", "few_shot_size": 1000}, "few_shot_size must lie in"),
    ],
)
def test_bad_split_arguments(kwargs, match):
    arguments = {"regime": "standard", "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_regime_split(np.arange(100.0), **arguments)
