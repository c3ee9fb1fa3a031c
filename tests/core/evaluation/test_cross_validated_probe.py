"""cross_validated_linear_probe against a hand-written grid search with the same folds."""

from __future__ import annotations

import numpy as np
import pytest

from cl_core.evaluation import (
    CrossValidatedProbe,
    cross_validated_linear_probe,
    linear_probe_accuracy,
)


def noisy_blobs(seed: int, n: int = 90, dim: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Three classes separated along 2 of ``dim`` dimensions; the rest is noise (C matters)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n // 3)
    x = rng.normal(size=(n, dim))
    x[:, 0] += 1.2 * labels
    x[:, 1] -= 0.8 * labels
    return x, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_reference_grid_search(seed: int, reference_choice) -> None:
    train_x, train_y = noisy_blobs(seed)
    test_x, test_y = noisy_blobs(seed + 100)
    grid = (0.001, 0.01, 0.1, 1.0, 10.0)
    result = cross_validated_linear_probe(
        train_x, train_y, test_x, test_y, grid=grid, folds=3, seed=seed
    )
    best_c, best_score = reference_choice(train_x, train_y, grid, 3, seed)
    assert isinstance(result, CrossValidatedProbe)
    assert result.inverse_regularization == best_c
    assert result.cv_accuracy == pytest.approx(best_score)
    expected = linear_probe_accuracy(
        train_x, train_y, test_x, test_y, inverse_regularization=best_c, seed=seed
    )
    assert result.accuracy == pytest.approx(expected)


def test_the_test_set_never_influences_the_choice() -> None:
    train_x, train_y = noisy_blobs(3)
    first = cross_validated_linear_probe(train_x, train_y, *noisy_blobs(4), folds=3)
    second = cross_validated_linear_probe(train_x, train_y, *noisy_blobs(5), folds=3)
    assert first.inverse_regularization == second.inverse_regularization
    assert first.cv_accuracy == second.cv_accuracy


def test_ties_go_to_the_smaller_c() -> None:
    # Perfectly separable and far apart: every C scores 1.0 on every fold.
    x = np.concatenate([np.zeros((6, 1)), np.full((6, 1), 10.0)]) + np.arange(12)[:, None] * 0.01
    y = np.repeat([0, 1], 6)
    result = cross_validated_linear_probe(x, y, x, y, grid=(10.0, 1.0, 0.5), folds=3)
    assert result.cv_accuracy == 1.0
    assert result.inverse_regularization == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid": ()}, "grid must hold at least one number > 0"),
        ({"grid": (1.0, -0.1)}, "grid must hold at least one number > 0"),
        ({"grid": (True,)}, "grid must hold at least one number > 0"),
        ({"folds": 1}, "folds must be an int >= 2"),
        ({"max_iter": 0}, "max_iter must be an int >= 1"),
        ({"folds": 40}, "needs at least folds=40 samples"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    x, y = noisy_blobs(0)
    with pytest.raises(ValueError, match=message):
        cross_validated_linear_probe(x, y, x, y, **kwargs)


def test_bad_shapes_and_labels() -> None:
    x, y = noisy_blobs(0)
    with pytest.raises(ValueError, match="test_x"):
        cross_validated_linear_probe(x, y, x[:, :5], y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        cross_validated_linear_probe(x, np.zeros_like(y), x, y)
    with pytest.raises(ValueError, match="train_y"):
        cross_validated_linear_probe(x, y[:-1], x, y)


def test_docstring_examples_run() -> None:
    import doctest

    import cl_core.evaluation.linear_probe as module

    result = doctest.testmod(module, verbose=False)
    assert result.attempted >= 2 and result.failed == 0
