"""``cl-train regression`` end to end (in process) and its one-line errors."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import torch

from cl_regression.cli import register
from cl_regression.data import load_diabetes_table
from cl_regression.training import TrainedRegressor


def _parse(argv):
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["regression", *argv])


@pytest.fixture
def diabetes_csv(tmp_path):
    path = tmp_path / "diabetes.csv"
    load_diabetes_table().frame.iloc[:150].to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("method", "protocol"),
    [("supremix", ["--protocol", "finetune", "--finetune-epochs", "1"]), ("l1", [])],
)
def test_trains_on_a_csv_and_writes_model_and_metrics(
    tmp_path, diabetes_csv, method, protocol, capsys
):
    out = tmp_path / "run"
    data = ["--csv", str(diabetes_csv), "--target", "target", "--out", str(out)]
    budget = ["--epochs", "2", "--batch-size", "32", "--binning", "uniform"]
    args = _parse(["--method", method, *data, *budget, *protocol])
    assert args.func(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mae"] > 0 and metrics["num_test"] == 30
    saved = torch.load(out / "model.pt", weights_only=True)
    assert saved["method"] == method and len(saved["feature_names"]) == 10
    assert saved["config"]["binning"] == "uniform"
    assert saved["config"]["protocol"] == ("finetune" if protocol else "linear")
    restored = TrainedRegressor.from_state(saved)
    features = pd.read_csv(diabetes_csv).drop(columns="target").to_numpy()
    predictions = restored.predict(features)
    assert np.isfinite(predictions).all() and predictions.std() > 0
    assert "test MAE" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        ("", "y", "the file is empty"),
        ("x,y\n1,2\n", "price", "no column 'price'"),
        ("x,y\n1,2\n2,many\n", "y", ":3: target column 'y' is not numeric"),
    ],
)
def test_bad_csv_gives_one_line_error_and_exit_2(tmp_path, capsys, content, target, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    args = _parse(["--csv", str(path), "--target", target, "--out", str(tmp_path / "o")])
    assert args.func(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "bad.csv" in error and message in error
    assert error.startswith("cl-train regression: error:")


def test_too_few_rows_is_a_user_error(tmp_path, capsys):
    path = tmp_path / "small.csv"
    pd.DataFrame({"x": np.arange(5.0), "y": np.arange(5.0)}).to_csv(path, index=False)
    args = _parse(["--csv", str(path), "--target", "y", "--out", str(tmp_path / "o")])
    assert args.func(args) == 2
    assert "at least 10 complete rows" in capsys.readouterr().err


def test_unknown_method_is_rejected_by_argparse(tmp_path):
    with pytest.raises(SystemExit):
        _parse(["--method", "mse", "--csv", "a.csv", "--target", "y"])
