"""Linear-probe accuracy: logistic regression on standardised frozen features.

The linear evaluation protocol of self-supervised learning (e.g. Chen et al., "A Simple Framework
for Contrastive Learning of Visual Representations", ICML 2020, arXiv:2002.05709), here with
scikit-learn's L2-regularised multinomial ``LogisticRegression`` (L-BFGS) instead of SGD.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cl_core.evaluation._arrays import check_same_width, feature_matrix, label_vector


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
