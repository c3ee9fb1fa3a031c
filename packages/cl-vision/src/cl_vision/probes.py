"""Frozen-feature probes with the linear probe's ``C`` chosen by cross-validation on training data.

The linear-evaluation protocol (a linear classifier on frozen features) follows SimCLR (Chen et
al., "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020,
arXiv:2002.05709), where the L2 penalty of the probe is tuned rather than fixed. Here the inverse
regularisation ``C`` of scikit-learn's logistic regression is chosen by
:func:`cl_core.evaluation.choose_inverse_regularization` (stratified k-fold CV, ties to the smaller
``C``) on a stratified subsample of at most ``cv_subsample`` training rows, and the probe is then
refitted with that ``C`` on *all* training rows and scored once on the test rows:

    C* = argmax_{C in grid} mean_f acc(fit(S \\ S_f, C), S_f),   S = stratified subsample of train
    linear_acc = acc(fit(train, C*), test)

The test features never influence ``C*``. Choosing ``C`` on a subsample keeps the run time sane on
20k x 784 raw pixels: the grid's 12 fits (4 values x 3 folds) run on ~3.3k rows instead of ~13k.
The kNN accuracy (Wu et al., 2018, arXiv:1805.01978) and the effective rank (Roy & Vetterli, 2007)
come from :mod:`cl_core` unchanged.

Note for the lead: nothing here is vision-specific; it could move to
``cl_core.recipes.frozen_probes`` next to ``probe_scores``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cl_core.evaluation import (
    choose_inverse_regularization,
    knn_accuracy,
    linear_probe_accuracy,
)
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID
from cl_core.metrics import effective_rank

#: Training rows the CV search sees at most (stratified subsample).
CV_SUBSAMPLE = 5000
CV_FOLDS = 3


@dataclass(frozen=True)
class ChosenProbe:
    """Result of :func:`subsampled_cv_linear_probe`.

    Attributes:
        accuracy: test accuracy of the probe refitted on all training rows with ``c``.
        c: the chosen inverse regularisation.
        cv_accuracy: mean accuracy of ``c`` over the CV folds of the subsample.
        cv_rows: training rows the CV search used.
        folds: folds of the search.
    """

    accuracy: float
    c: float
    cv_accuracy: float
    cv_rows: int
    folds: int


def stratified_subsample(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted indices of at most ``limit`` rows keeping the class proportions of ``labels``.

    Args:
        labels: ``(N,)`` integer labels.
        limit: rows to keep (>= the number of classes); all rows when ``N <= limit``.
        seed: seed of the draw.

    Returns:
        ``(min(N, limit),)`` int64 indices into ``labels``.

    Example:
        >>> stratified_subsample(np.array([0, 0, 0, 0, 1, 1]), 3, seed=0).shape
        (3,)
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    if len(labels) <= limit:
        return rows
    kept, _ = train_test_split(rows, train_size=limit, stratify=labels, random_state=seed)
    return np.sort(kept)


def subsampled_cv_linear_probe(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    grid: Sequence[float] = DEFAULT_C_GRID,
    folds: int = CV_FOLDS,
    cv_subsample: int = CV_SUBSAMPLE,
    seed: int = 0,
) -> ChosenProbe:
    """Choose ``C`` by stratified CV on (a subsample of) the training rows, refit on all of them.

    Args:
        train_x: ``(N, D)`` training features (numpy array or tensor).
        train_y: ``(N,)`` integer training labels; every class needs >= 2 rows.
        test_x: ``(M, D)`` test features; used only for the final score.
        test_y: ``(M,)`` integer test labels.
        grid: candidate ``C`` values (each > 0).
        folds: CV folds (>= 2); lowered to the rarest class's count in the subsample when that
            is smaller (tiny user folders).
        cv_subsample: training rows the search sees at most (>= 20).
        seed: seed of the subsample, the folds and the classifier.

    Returns:
        A :class:`ChosenProbe`.

    Raises:
        ValueError: ``cv_subsample`` < 20, ``folds`` < 2, or a class with fewer than 2 rows.

    Example:
        >>> x = np.r_[np.zeros((6, 1)), np.ones((6, 1))] + np.linspace(0, 0.2, 12)[:, None]
        >>> y = np.r_[np.zeros(6, int), np.ones(6, int)]
        >>> subsampled_cv_linear_probe(x, y, x, y, grid=(0.1, 1.0)).accuracy
        1.0
    """
    if not isinstance(cv_subsample, int) or cv_subsample < 20:
        raise ValueError(f"cv_subsample must be an int >= 20, got {cv_subsample!r}")
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 2:
        raise ValueError(f"folds must be an int >= 2, got {folds!r}")
    labels = np.asarray(train_y)
    if labels.ndim != 1:
        raise ValueError(f"train_y must have shape (N,), got shape {labels.shape}")
    rows = stratified_subsample(labels, cv_subsample, seed)
    _, counts = np.unique(labels[rows], return_counts=True)
    if counts.min() < 2:
        raise ValueError(
            "train_y needs at least 2 rows per class to choose C by cross-validation, "
            f"got a class with {counts.min()}"
        )
    used_folds = min(folds, int(counts.min()))
    chosen, cv_accuracy = choose_inverse_regularization(
        train_x[rows], labels[rows], grid=grid, folds=used_folds, seed=seed
    )
    accuracy = linear_probe_accuracy(
        train_x, train_y, test_x, test_y, inverse_regularization=chosen, seed=seed
    )
    return ChosenProbe(
        accuracy=accuracy,
        c=chosen,
        cv_accuracy=cv_accuracy,
        cv_rows=len(rows),
        folds=used_folds,
    )


def frozen_probe_scores(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    k: int = 20,
    cv_subsample: int = CV_SUBSAMPLE,
    seed: int = 0,
) -> dict[str, float]:
    """kNN accuracy, CV-tuned linear-probe accuracy and effective rank of frozen features.

    When some class has a single training row (a tiny user folder) ``C`` cannot be
    cross-validated: the probe then uses the fixed ``C = 1`` and the result has no
    ``linear_cv_acc``.

    Args:
        train_x: ``(N, D)`` features of the probes' training set (tensor).
        train_y: ``(N,)`` integer labels.
        test_x: ``(M, D)`` features to score.
        test_y: ``(M,)`` integer labels.
        k: neighbours of the cosine kNN classifier.
        cv_subsample: training rows the search for ``C`` sees at most.
        seed: seed of the subsample, folds and classifier.

    Returns:
        ``knn_acc``, ``linear_acc`` (refit on all training rows with the chosen C), ``linear_c``
        (the chosen C), ``linear_cv_acc`` (its CV accuracy) and ``effective_rank`` (of the
        centred test features).

    Example:
        >>> import torch
        >>> x = torch.cat([torch.zeros(10, 2), torch.ones(10, 2)]) + torch.rand(20, 2) * 0.1
        >>> y = torch.arange(20) // 10
        >>> sorted(frozen_probe_scores(x, y, x, y, k=3))
        ['effective_rank', 'knn_acc', 'linear_acc', 'linear_c', 'linear_cv_acc']
    """
    scores = {"knn_acc": knn_accuracy(train_x, train_y, test_x, test_y, k=k)}
    if np.unique(np.asarray(train_y), return_counts=True)[1].min() >= 2:
        probe = subsampled_cv_linear_probe(
            train_x, train_y, test_x, test_y, cv_subsample=cv_subsample, seed=seed
        )
        scores.update(linear_acc=probe.accuracy, linear_c=probe.c, linear_cv_acc=probe.cv_accuracy)
    else:
        scores.update(
            linear_acc=linear_probe_accuracy(train_x, train_y, test_x, test_y, seed=seed),
            linear_c=1.0,
        )
    scores["effective_rank"] = float(effective_rank(test_x.detach().float(), center=True))
    return scores
