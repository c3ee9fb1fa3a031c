"""The subsampled CV probe chooses C by stratified CV on training rows only, then refits on all."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cl_core.evaluation.subsampled_probe as subsampled_probe
from cl_core.evaluation import (
    FALLBACK_C,
    ChosenProbe,
    frozen_probe_scores,
    knn_accuracy,
    linear_probe_accuracy,
    stratified_subsample,
    subsampled_cv_linear_probe,
)
from cl_core.metrics import effective_rank

GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def _blobs(rows: int, seed: int, *, dims: int = 30, informative: int = 3, classes: int = 3):
    """Noisy Gaussian classes where only a few dimensions carry the label (so C matters)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % classes
    features = rng.normal(size=(rows, dims))
    features[:, :informative] += labels[:, None] * 0.8
    return features, labels


def test_chosen_c_is_the_best_mean_fold_accuracy_of_a_hand_written_cv_loop(
    reference_choice,
) -> None:
    x, y = _blobs(90, seed=0)
    probe = subsampled_cv_linear_probe(x, y, x[:9], y[:9], grid=GRID, folds=3, seed=4)
    reference_c, reference_score = reference_choice(x, y, GRID, 3, 4)
    assert probe.c == reference_c
    assert probe.cv_accuracy == pytest.approx(reference_score)
    assert probe.cv_rows == 90 and probe.folds == 3


def test_test_features_never_influence_the_chosen_c() -> None:
    x, y = _blobs(120, seed=1)
    test_x, test_y = _blobs(60, seed=2)
    honest = subsampled_cv_linear_probe(x, y, test_x, test_y, grid=GRID, seed=0)
    scrambled = subsampled_cv_linear_probe(
        x, y, test_x * 50.0 + 7.0, np.roll(test_y, 1), grid=GRID, seed=0
    )
    assert (scrambled.c, scrambled.cv_accuracy) == (honest.c, honest.cv_accuracy)
    assert scrambled.accuracy != honest.accuracy


def test_search_sees_only_a_stratified_training_subsample(monkeypatch) -> None:
    x, _ = _blobs(300, seed=3)
    y = np.repeat([0, 1, 2], [200, 50, 50])
    test_x, test_y = _blobs(50, seed=4)
    seen = {}
    original = subsampled_probe.choose_inverse_regularization

    def spy(train_x, train_y, **kwargs):
        seen.update(train_x=train_x, train_y=train_y)
        return original(train_x, train_y, **kwargs)

    monkeypatch.setattr(subsampled_probe, "choose_inverse_regularization", spy)
    probe = subsampled_cv_linear_probe(x, y, test_x, test_y, cv_subsample=60, seed=0)
    assert len(seen["train_y"]) == probe.cv_rows == 60
    assert np.bincount(seen["train_y"]).tolist() == [40, 10, 10]
    assert all(any(np.array_equal(row, t) for t in x) for row in seen["train_x"])
    assert not any(np.allclose(row, t) for row in seen["train_x"] for t in test_x)


def test_final_probe_is_refitted_on_all_training_rows_with_the_chosen_c() -> None:
    x, y = _blobs(400, seed=5)
    test_x, test_y = _blobs(100, seed=6)
    probe = subsampled_cv_linear_probe(x, y, test_x, test_y, grid=GRID, cv_subsample=60)
    refit = linear_probe_accuracy(x, y, test_x, test_y, inverse_regularization=probe.c)
    assert probe.accuracy == refit
    assert probe.cv_rows == 60


def test_tensors_and_arrays_give_the_same_probe() -> None:
    x, y = _blobs(90, seed=11)
    from_arrays = subsampled_cv_linear_probe(x, y, x, y, grid=GRID, cv_subsample=45)
    from_tensors = subsampled_cv_linear_probe(
        torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(x), torch.from_numpy(y),
        grid=GRID, cv_subsample=45,
    )  # fmt: skip
    assert from_tensors == from_arrays


def test_stratified_subsample_keeps_class_proportions_and_all_rows_when_small() -> None:
    labels = np.array([0] * 80 + [1] * 20)
    kept = stratified_subsample(labels, 50, seed=0)
    assert np.bincount(labels[kept]).tolist() == [40, 10]
    assert np.all(np.diff(kept) > 0)
    assert stratified_subsample(labels, 500, seed=0).tolist() == list(range(100))


@pytest.mark.parametrize(
    ("labels", "limit", "message"),
    [(np.zeros((4, 2), int), 2, "labels must have shape"), (np.zeros(4, int), 0, "limit")],
)
def test_stratified_subsample_rejects_bad_arguments(labels, limit, message) -> None:
    with pytest.raises(ValueError, match=message):
        stratified_subsample(labels, limit, seed=0)


def test_folds_drop_to_the_rarest_class_count() -> None:
    x, y = _blobs(40, seed=7, classes=2)
    y[:] = 0
    y[:2] = 1
    probe = subsampled_cv_linear_probe(x, y, x, y, folds=3)
    assert probe.folds == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cv_subsample": 10}, "cv_subsample"),
        ({"folds": 1}, "folds"),
        ({"grid": (0.0, 1.0)}, "C|grid"),
        ({"train_y": np.zeros(59, int)}, "train_y must have shape"),
        ({"train_x": np.zeros((60, 30, 1))}, "train_x must be a 2-D"),
        ({"fallback_c": 0.0}, "fallback_c must be None or a number > 0"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(changes, message) -> None:
    x, y = _blobs(60, seed=8)
    arguments = {"train_x": x, "train_y": y, "test_x": x, "test_y": y, **changes}
    with pytest.raises(ValueError, match=message):
        subsampled_cv_linear_probe(**arguments)


def test_a_class_with_one_training_row_cannot_be_cross_validated() -> None:
    x, y = _blobs(30, seed=9, classes=2)
    y[:] = 0
    y[0] = 1
    with pytest.raises(ValueError, match="at least 2 rows per class"):
        subsampled_cv_linear_probe(x, y, x, y)


def test_fallback_c_is_used_only_when_a_class_has_one_row() -> None:
    x, y = _blobs(30, seed=9, classes=2)
    tuned = subsampled_cv_linear_probe(x, y, x, y, grid=GRID, fallback_c=FALLBACK_C)
    assert tuned == subsampled_cv_linear_probe(x, y, x, y, grid=GRID)
    y[:] = 0
    y[0] = 1
    fixed = subsampled_cv_linear_probe(x, y, x, y, grid=GRID, fallback_c=0.5)
    assert fixed == ChosenProbe(
        accuracy=linear_probe_accuracy(x, y, x, y, inverse_regularization=0.5),
        c=0.5,
        cv_accuracy=None,
        cv_rows=0,
        folds=0,
    )


def test_frozen_probe_scores_combine_knn_the_chosen_c_probe_and_effective_rank() -> None:
    x, y = _blobs(60, seed=10)
    features, labels = torch.from_numpy(x).float(), torch.from_numpy(y)
    scores = frozen_probe_scores(features, labels, features, labels, k=5)
    probe = subsampled_cv_linear_probe(features, labels, features, labels)
    assert scores == {
        "knn_acc": knn_accuracy(features, labels, features, labels, k=5),
        "linear_acc": probe.accuracy,
        "linear_c": probe.c,
        "linear_cv_acc": probe.cv_accuracy,
        "effective_rank": float(effective_rank(features, center=True)),
    }
    labels[:] = 0
    labels[0] = 1
    fallback = frozen_probe_scores(features, labels, features, labels, k=5)
    assert fallback["linear_c"] == FALLBACK_C
    assert "linear_cv_acc" not in fallback
