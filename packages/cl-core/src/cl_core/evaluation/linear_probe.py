"""Linear-probe accuracy: logistic regression on standardised frozen features.

The linear evaluation protocol of self-supervised learning (e.g. Chen et al., "A Simple Framework
for Contrastive Learning of Visual Representations", ICML 2020, arXiv:2002.05709), here with
scikit-learn's L2-regularised multinomial ``LogisticRegression`` (L-BFGS) instead of SGD, with a
fixed ``C`` (:func:`linear_probe_accuracy`) or ``C`` chosen by stratified cross-validation on the
training features (:func:`cross_validated_linear_probe`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cl_core.evaluation._arrays import (
    check_c_grid,
    check_same_width,
    feature_matrix,
    label_vector,
)
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID


def linear_probe_accuracy(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    inverse_regularization: float = 1.0,
    max_iter: int = 2000,
    seed: int = 0,
) -> float:
    """Fit ``StandardScaler`` + ``LogisticRegression`` on the training features, score the test set.

    The scaler's statistics come from the training features only. ``seed`` fixes the solver's
    ``random_state`` so repeated calls give the same number.

    Args:
        train_x: Training features, shape (N, D), numpy array or torch tensor.
        train_y: Integer training labels, shape (N,), with at least two classes.
        test_x: Test features, shape (M, D).
        test_y: Integer test labels, shape (M,).
        inverse_regularization: scikit-learn's ``C`` (> 0); smaller means stronger L2 penalty.
        max_iter: L-BFGS iteration budget (>= 1).
        seed: ``random_state`` of the classifier.

    Returns:
        Test accuracy in [0, 1].

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0], [1.0], [4.0], [5.0]])
        >>> y = np.array([0, 0, 1, 1])
        >>> linear_probe_accuracy(x, y, x, y)
        1.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = feature_matrix(train_x, "train_x")
    test = feature_matrix(test_x, "test_x")
    check_same_width(train, test, "train_x", "test_x")
    train_labels = label_vector(train_y, "train_y", train.shape[0])
    test_labels = label_vector(test_y, "test_y", test.shape[0])
    if np.unique(train_labels).size < 2:
        raise ValueError("train_y must contain at least 2 classes, got 1")
    if not (isinstance(inverse_regularization, int | float) and inverse_regularization > 0):
        raise ValueError(f"inverse_regularization must be > 0, got {inverse_regularization!r}")
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")
    probe = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=inverse_regularization, max_iter=max_iter, random_state=seed),
    )
    probe.fit(train, train_labels)
    return float(probe.score(test, test_labels))


@dataclass(frozen=True)
class CrossValidatedProbe:
    """Result of :func:`cross_validated_linear_probe`.

    Attributes:
        accuracy: test accuracy of the probe refitted on all training features with the chosen C.
        inverse_regularization: the chosen ``C``.
        cv_accuracy: its mean accuracy over the cross-validation folds of the training features.
    """

    accuracy: float
    inverse_regularization: float
    cv_accuracy: float


def cross_validated_linear_probe(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    grid: Sequence[float] = DEFAULT_C_GRID,
    folds: int = 3,
    max_iter: int = 2000,
    seed: int = 0,
) -> CrossValidatedProbe:
    """:func:`linear_probe_accuracy` with ``C`` chosen by stratified k-fold CV on the training set.

    ``C`` comes from :func:`choose_inverse_regularization` on the training features; the probe is
    then refitted on all training features with it and scored on the test set, which never
    influences the choice.

    Args:
        train_x: Training features, shape (N, D), numpy array or torch tensor.
        train_y: Integer training labels, shape (N,), each class at least ``folds`` times.
        test_x: Test features, shape (M, D).
        test_y: Integer test labels, shape (M,).
        grid: candidate values of ``C`` (each > 0, at least one).
        folds: number of cross-validation folds (>= 2).
        max_iter: L-BFGS iteration budget (>= 1).
        seed: fold shuffling and the classifier's ``random_state``.

    Returns:
        A :class:`CrossValidatedProbe` (test accuracy, chosen C, its CV accuracy).

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0], [0.5], [1.0], [4.0], [4.5], [5.0]])
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> cross_validated_linear_probe(x, y, x, y, grid=(0.1, 1.0)).accuracy
        1.0
    """
    train = feature_matrix(train_x, "train_x")
    test = feature_matrix(test_x, "test_x")
    check_same_width(train, test, "train_x", "test_x")
    label_vector(test_y, "test_y", test.shape[0])
    chosen, cv_accuracy = choose_inverse_regularization(
        train, train_y, grid=grid, folds=folds, max_iter=max_iter, seed=seed
    )
    accuracy = linear_probe_accuracy(
        train, train_y, test, test_y, inverse_regularization=chosen, max_iter=max_iter, seed=seed
    )
    return CrossValidatedProbe(
        accuracy=accuracy, inverse_regularization=chosen, cv_accuracy=cv_accuracy
    )


def choose_inverse_regularization(
    train_x: Any,
    train_y: Any,
    *,
    grid: Sequence[float] = DEFAULT_C_GRID,
    folds: int = 3,
    max_iter: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """The linear probe's ``C`` chosen by stratified k-fold CV on training features alone.

    Every ``C`` in ``grid`` is scored by the mean accuracy over ``folds`` stratified folds
    (scaler refitted inside each fold, so no fold sees its own test statistics); ties go to the
    smaller ``C`` (the stronger penalty). Uses scikit-learn's ``GridSearchCV`` (no refit) with
    ``StratifiedKFold(shuffle=True, random_state=seed)``.

    Args:
        train_x: Training features, shape (N, D), numpy array or torch tensor.
        train_y: Integer training labels, shape (N,), each class at least ``folds`` times.
        grid: candidate values of ``C`` (each > 0, at least one).
        folds: number of cross-validation folds (>= 2).
        max_iter: L-BFGS iteration budget (>= 1).
        seed: fold shuffling and the classifier's ``random_state``.

    Returns:
        ``(C, mean CV accuracy of C)``.

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0], [0.5], [1.0], [4.0], [4.5], [5.0]])
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> choose_inverse_regularization(x, y, grid=(0.1, 1.0))
        (0.1, 1.0)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    train = feature_matrix(train_x, "train_x")
    train_labels = label_vector(train_y, "train_y", train.shape[0])
    candidates = check_c_grid(grid)
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 2:
        raise ValueError(f"folds must be an int >= 2, got {folds!r}")
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")
    classes, counts = np.unique(train_labels, return_counts=True)
    if classes.size < 2:
        raise ValueError("train_y must contain at least 2 classes, got 1")
    if counts.min() < folds:
        rarest = classes[counts.argmin()]
        raise ValueError(
            f"every class of train_y needs at least folds={folds} samples for stratified "
            f"cross-validation; class {rarest} has {counts.min()}"
        )
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("probe", LogisticRegression(max_iter=max_iter, random_state=seed)),
        ]
    )
    # GridSearchCV keeps the first of tied candidates, so sort ascending: ties go to the smaller C.
    search = GridSearchCV(
        pipeline,
        {"probe__C": sorted(candidates)},
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed),
        scoring="accuracy",
        refit=False,
    )
    search.fit(train, train_labels)
    return float(search.best_params_["probe__C"]), float(search.best_score_)
