r"""Linear probe with ``C`` chosen by cross-validation on a stratified subsample of training rows.

The linear-evaluation protocol (a linear classifier on frozen features) follows SimCLR (Chen et
al., "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020,
arXiv:2002.05709), where the L2 penalty of the probe is tuned rather than fixed. Here the inverse
regularisation ``C`` of scikit-learn's logistic regression is chosen by
:func:`~cl_core.evaluation.choose_inverse_regularization` (stratified k-fold CV, ties to the
smaller ``C``) on a stratified subsample of at most ``cv_subsample`` training rows; the probe is
then refitted with that ``C`` on *all* training rows and scored once on the test rows:

.. math::

    C^* = \arg\max_{C \in \text{grid}} \frac{1}{F} \sum_{f=1}^{F}
          \operatorname{acc}\big(\operatorname{fit}(S \setminus S_f, C), S_f\big),
    \qquad S = \text{stratified subsample of the training rows}

    \text{accuracy} = \operatorname{acc}\big(\operatorname{fit}(\text{train}, C^*),
                      \text{test}\big)

The test rows never influence :math:`C^*`. Choosing ``C`` on a subsample keeps the run time sane
on large probes (20k x 784 raw pixels, or one row per feature-map cell): the grid's 12 fits
(4 values x 3 folds) see at most 5,000 rows, and only the final refit sees them all.
:func:`frozen_probe_scores` adds the cosine kNN accuracy (Wu et al., "Unsupervised Feature Learning
via Non-Parametric Instance Discrimination", CVPR 2018, arXiv:1805.01978) and the effective rank
(Roy & Vetterli, 2007) of the same features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cl_core.evaluation._arrays import as_numpy, feature_matrix, label_vector
from cl_core.evaluation.knn import knn_accuracy
from cl_core.evaluation.linear_probe import choose_inverse_regularization, linear_probe_accuracy
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID

#: Training rows the search for ``C`` sees at most (stratified subsample).
CV_SUBSAMPLE = 5000
#: Folds of the search for ``C``.
CV_FOLDS = 3
#: ``C`` of :func:`frozen_probe_scores`' probe when some class has too few rows to cross-validate.
FALLBACK_C = 1.0


@dataclass(frozen=True)
class ChosenProbe:
    """Result of :func:`subsampled_cv_linear_probe`.

    Attributes:
        accuracy: test accuracy of the probe refitted on all training rows with ``c``.
        c: the chosen inverse regularisation (``fallback_c`` when none could be chosen).
        cv_accuracy: mean accuracy of ``c`` over the CV folds of the subsample; ``None`` when
            ``C`` was not cross-validated.
        cv_rows: training rows the CV search used (0 without a search).
        folds: folds of the search (0 without a search).
    """

    accuracy: float
    c: float
    cv_accuracy: float | None
    cv_rows: int
    folds: int


def stratified_subsample(labels: Any, limit: int, seed: int) -> np.ndarray:
    """Sorted indices of at most ``limit`` rows keeping the class proportions of ``labels``.

    Uses scikit-learn's ``train_test_split(stratify=labels)``.

    Args:
        labels: ``(N,)`` integer labels (numpy array or tensor).
        limit: rows to keep (>= the number of classes); all rows when ``N <= limit``.
        seed: seed of the draw.

    Returns:
        ``(min(N, limit),)`` int64 indices into ``labels``, ascending.

    Raises:
        ValueError: ``labels`` is not 1-D or ``limit`` is not an int >= 1.

    Example:
        >>> stratified_subsample(np.array([0, 0, 0, 0, 1, 1]), 3, seed=0).shape
        (3,)
    """
    from sklearn.model_selection import train_test_split

    values = as_numpy(labels, "labels")
    if values.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got shape {values.shape}")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be an int >= 1, got {limit!r}")
    rows = np.arange(len(values))
    if len(values) <= limit:
        return rows
    kept, _ = train_test_split(rows, train_size=limit, stratify=values, random_state=seed)
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
    fallback_c: float | None = None,
) -> ChosenProbe:
    """Choose ``C`` by stratified CV on (a subsample of) the training rows, refit on all of them.

    ``C`` cannot be cross-validated when some class has a single row in the subsample (a tiny
    user folder): then the probe raises, or, with ``fallback_c``, is fitted with that fixed ``C``
    and the result has ``cv_accuracy=None``, ``cv_rows=0`` and ``folds=0``.

    Args:
        train_x: ``(N, D)`` training features (numpy array or tensor).
        train_y: ``(N,)`` integer training labels with at least 2 classes.
        test_x: ``(M, D)`` test features; used only for the final score.
        test_y: ``(M,)`` integer test labels.
        grid: candidate ``C`` values (each > 0).
        folds: CV folds (>= 2); lowered to the rarest class's count in the subsample when that
            is smaller (tiny user folders).
        cv_subsample: training rows the search sees at most (>= 20).
        seed: seed of the subsample, the folds and the classifier.
        fallback_c: ``C`` (> 0) to use when ``C`` cannot be cross-validated; ``None`` raises.

    Returns:
        A :class:`ChosenProbe`.

    Raises:
        ValueError: ``cv_subsample`` < 20, ``folds`` < 2, ``fallback_c`` <= 0, bad shapes, or
            (without ``fallback_c``) a class with fewer than 2 rows in the subsample.

    Example:
        >>> x = np.r_[np.zeros((6, 1)), np.ones((6, 1))] + np.linspace(0, 0.2, 12)[:, None]
        >>> y = np.r_[np.zeros(6, int), np.ones(6, int)]
        >>> subsampled_cv_linear_probe(x, y, x, y, grid=(0.1, 1.0)).accuracy
        1.0
        >>> one_row_of_class_2 = np.r_[y[:-1], 2]
        >>> subsampled_cv_linear_probe(x, one_row_of_class_2, x, y, fallback_c=1.0).cv_accuracy
        >>> subsampled_cv_linear_probe(x, one_row_of_class_2, x, y, fallback_c=1.0).c
        1.0
    """
    if not isinstance(cv_subsample, int) or isinstance(cv_subsample, bool) or cv_subsample < 20:
        raise ValueError(f"cv_subsample must be an int >= 20, got {cv_subsample!r}")
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 2:
        raise ValueError(f"folds must be an int >= 2, got {folds!r}")
    if fallback_c is not None and not (
        isinstance(fallback_c, int | float) and not isinstance(fallback_c, bool) and fallback_c > 0
    ):
        raise ValueError(f"fallback_c must be None or a number > 0, got {fallback_c!r}")
    train = feature_matrix(train_x, "train_x")
    labels = label_vector(train_y, "train_y", train.shape[0])
    rows = np.arange(len(labels))
    # A class with a single row cannot be stratified, so only subsample when every class has two.
    if np.unique(labels, return_counts=True)[1].min() >= 2:
        rows = stratified_subsample(labels, cv_subsample, seed)
    rarest = int(np.unique(labels[rows], return_counts=True)[1].min())
    if rarest < 2:
        if fallback_c is None:
            raise ValueError(
                "train_y needs at least 2 rows per class to choose C by cross-validation, "
                f"got a class with {rarest}"
            )
        accuracy = linear_probe_accuracy(
            train, labels, test_x, test_y, inverse_regularization=fallback_c, seed=seed
        )
        return ChosenProbe(accuracy=accuracy, c=fallback_c, cv_accuracy=None, cv_rows=0, folds=0)
    used_folds = min(folds, rarest)
    chosen, cv_accuracy = choose_inverse_regularization(
        train[rows], labels[rows], grid=grid, folds=used_folds, seed=seed
    )
    accuracy = linear_probe_accuracy(
        train, labels, test_x, test_y, inverse_regularization=chosen, seed=seed
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

    The linear probe is :func:`subsampled_cv_linear_probe` with ``fallback_c=FALLBACK_C``: without
    cross-validation (a class with a single training row) the result has no ``linear_cv_acc``.

    Args:
        train_x: ``(N, D)`` features of the probes' training set (numpy array or tensor).
        train_y: ``(N,)`` integer labels.
        test_x: ``(M, D)`` features to score.
        test_y: ``(M,)`` integer labels.
        k: neighbours of the cosine kNN classifier (1 <= k <= N).
        cv_subsample: training rows the search for ``C`` sees at most.
        seed: seed of the subsample, folds and classifier.

    Returns:
        ``knn_acc``, ``linear_acc`` (refit on all training rows with the chosen C), ``linear_c``
        (the chosen C), ``linear_cv_acc`` (its CV accuracy) and ``effective_rank`` (of the
        centred test features, in float32).

    Example:
        >>> x = np.r_[np.zeros((10, 2)), np.ones((10, 2))] + np.linspace(0, 0.1, 40).reshape(20, 2)
        >>> y = np.arange(20) // 10
        >>> sorted(frozen_probe_scores(x, y, x, y, k=3))
        ['effective_rank', 'knn_acc', 'linear_acc', 'linear_c', 'linear_cv_acc']
    """
    import torch

    from cl_core.metrics import effective_rank

    scores = {"knn_acc": knn_accuracy(train_x, train_y, test_x, test_y, k=k)}
    probe = subsampled_cv_linear_probe(
        train_x,
        train_y,
        test_x,
        test_y,
        cv_subsample=cv_subsample,
        seed=seed,
        fallback_c=FALLBACK_C,
    )
    scores.update(linear_acc=probe.accuracy, linear_c=probe.c)
    if probe.cv_accuracy is not None:
        scores["linear_cv_acc"] = probe.cv_accuracy
    test = torch.from_numpy(feature_matrix(test_x, "test_x")).float()
    scores["effective_rank"] = float(effective_rank(test, center=True))
    return scores
