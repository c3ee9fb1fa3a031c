"""Linear probe with a validation split (Macro-F1, Micro-F1, AUC) on scikit-learn's real digits.

Data card: ``sklearn.datasets.load_digits`` ships with scikit-learn (real handwritten digits, UCI
optical recognition set); nothing is downloaded. Blobs in the property tests are synthesized.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from cl_core.evaluation import linear_probe_scores


@pytest.fixture(scope="module")
def digits_split():
    """20 labelled digits per class for training, the rest halved into validation and test."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(y.size)
    train = np.concatenate([order[y[order] == c][:20] for c in range(10)])
    rest = np.setdiff1d(order, train)
    rest = rest[np.random.default_rng(1).permutation(rest.size)]
    return x, y, (train, rest[: rest.size // 2], rest[rest.size // 2 :])


def loop_scores(x, y, split, c_grid):
    """The protocol written out: fit per C, keep the best validation Macro-F1, score the test."""
    train, val, test = split
    best = None
    for c in c_grid:
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(C=c, max_iter=2000, random_state=0)
        model.fit(scaler.transform(x[train]), y[train])
        score = f1_score(y[val], model.predict(scaler.transform(x[val])), average="macro")
        if best is None or score > best[0]:
            best = (score, c, scaler, model)
    _, c, scaler, model = best
    test_x = scaler.transform(x[test])
    predicted = model.predict(test_x)
    per_class_f1 = [
        2
        * np.sum((predicted == k) & (y[test] == k))
        / (np.sum(predicted == k) + np.sum(y[test] == k))
        for k in np.unique(y[test])
    ]
    aucs = [
        roc_auc_score(y[test] == k, model.predict_proba(test_x)[:, i])
        for i, k in enumerate(model.classes_)
    ]
    return {
        "macro_f1": float(np.mean(per_class_f1)),
        "micro_f1": float(np.mean(predicted == y[test])),
        "auc": float(np.mean(aucs)),
        "c": c,
    }


def test_matches_the_protocol_written_out(digits_split):
    x, y, split = digits_split
    grid = (0.01, 1.0)
    got = linear_probe_scores(x, y, split, c_grid=grid)
    expected = loop_scores(x, y, split, grid)
    assert got["c"] == expected["c"]
    for key in ("macro_f1", "micro_f1", "auc"):
        assert got[key] == pytest.approx(expected[key], abs=1e-9)
    assert 0.8 < got["micro_f1"] <= 1.0


def test_separable_blobs_score_perfectly_and_noise_does_not():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 30)
    points = rng.normal(scale=8.0, size=(3, 5))[labels] + rng.normal(size=(90, 5))
    index = np.arange(90)
    split = (index[::3], index[1::3], index[2::3])
    good = linear_probe_scores(points, labels, split)
    assert good["macro_f1"] == pytest.approx(1.0) and good["auc"] == pytest.approx(1.0)
    noise = linear_probe_scores(rng.normal(size=points.shape), labels, split)
    assert noise["macro_f1"] < 0.8


def test_two_classes_use_the_plain_roc_auc():
    x = torch.tensor([[0.0], [0.2], [0.4], [1.0], [1.2], [1.4]] * 2)
    y = np.array([0, 0, 0, 1, 1, 1] * 2)
    index = np.arange(12)
    scores = linear_probe_scores(x, y, (index[:6], index[6:9], index[6:]))
    assert scores["auc"] == pytest.approx(1.0)


def test_validation_split_chooses_c():
    """Selection uses the validation rows only: permuting the test labels leaves C unchanged."""
    x, y = load_digits(return_X_y=True)
    index = np.arange(300)
    split = (index[:100], index[100:200], index[200:300])
    shuffled = y.copy()
    shuffled[200:300] = np.random.default_rng(0).permutation(shuffled[200:300])
    grid = (0.001, 0.1, 10.0)
    assert (
        linear_probe_scores(x, y, split, c_grid=grid)["c"]
        == linear_probe_scores(x, shuffled, split, c_grid=grid)["c"]
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"x": np.zeros(6)}, ValueError, r"x must be a 2-D array"),
        ({"labels": np.zeros(5, int)}, ValueError, r"labels must have shape \(6,\)"),
        ({"split": (np.arange(2), np.arange(2))}, ValueError, "triple"),
        ({"split": (np.arange(2), np.arange(2), np.array([7]))}, ValueError, r"in \[0, 6\)"),
        ({"split": (np.arange(2), np.arange(2), np.array([], int))}, ValueError, "non-empty"),
        ({"split": (np.arange(2), np.arange(2), np.array([0.5]))}, TypeError, "integer"),
        ({"split": (np.array([0, 2]), np.arange(2), np.arange(2))}, ValueError, "2 classes"),
        ({"c_grid": ()}, ValueError, "c_grid"),
        ({"c_grid": (1.0, -1.0)}, ValueError, "c_grid"),
        ({"max_iter": 0}, ValueError, "max_iter"),
    ],
)
def test_rejects_bad_inputs(kwargs, error, message):
    arguments = {
        "x": np.arange(12.0).reshape(6, 2),
        "labels": np.array([0, 1, 0, 1, 0, 1]),
        "split": (np.arange(2), np.arange(2, 4), np.arange(4, 6)),
    }
    arguments.update(kwargs)
    extra = {k: arguments.pop(k) for k in ("c_grid", "max_iter") if k in arguments}
    with pytest.raises(error, match=message):
        linear_probe_scores(arguments["x"], arguments["labels"], arguments["split"], **extra)


def test_docstring_example_runs():
    import doctest

    import cl_core.evaluation.probe_scores as module

    result = doctest.testmod(module, verbose=False)
    assert result.attempted > 0 and result.failed == 0
