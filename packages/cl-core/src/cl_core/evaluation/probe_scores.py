"""Linear probe with a validation split: Macro-F1, Micro-F1 and one-vs-rest AUC on the test split.

The node-classification protocol of heterogeneous-graph contrastive learning (HeCo, Wang et al.,
"Self-supervised Heterogeneous Graph Neural Network with Co-contrastive Learning", KDD 2021,
arXiv:2105.09111; MEOW, Yu & Li, SDM 2023, arXiv:2212.13847): a logistic regression is trained on
the frozen embeddings of a few labelled samples, selected on the validation samples, and scored on
the test samples. Here the classifier is scikit-learn's L2 ``LogisticRegression`` (L-BFGS) on
standardised features (as in :func:`cl_core.evaluation.linear_probe_accuracy`), and its inverse
regularisation ``C`` is the value of ``grid`` with the best validation Macro-F1.

Macro-F1 is the unweighted mean of the per-class F1 scores, Micro-F1 the F1 of the pooled
decisions (equal to accuracy for single-label data), AUC the mean one-vs-rest ROC AUC over classes
(the plain ROC AUC for two classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cl_core.evaluation._arrays import as_numpy, check_c_grid, feature_matrix, label_vector

DEFAULT_C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
PROBE_METRICS: tuple[str, ...] = ("macro_f1", "micro_f1", "auc")


def linear_probe_scores(
    x: Any,
    labels: Any,
    split: tuple[Any, Any, Any],
    *,
    c_grid: Sequence[float] = DEFAULT_C_GRID,
    max_iter: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Macro-F1, Micro-F1 and AUC of a logistic regression selected on the validation split.

    Args:
        x: Features, shape (N, D), numpy array or torch tensor.
        labels: Integer labels, shape (N,).
        split: (train, val, test) integer index arrays into the N rows; the training rows must
            hold at least two classes and the test rows every class the classifier knows.
        c_grid: Candidate values of scikit-learn's ``C`` (each > 0).
        max_iter: L-BFGS iteration budget (>= 1).
        seed: ``random_state`` of the classifier.

    Returns:
        ``{"macro_f1", "micro_f1", "auc", "c"}``: the three test scores in [0, 1] and the chosen
        ``C``.

    Example:
        >>> x = np.r_[np.zeros((10, 2)), np.ones((10, 2))] + np.linspace(0, 0.1, 20)[:, None]
        >>> y = np.r_[np.zeros(10, int), np.ones(10, int)]
        >>> idx = np.arange(20)
        >>> linear_probe_scores(x, y, (idx[::2], idx[1::4], idx[3::4]))["micro_f1"]
        1.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = feature_matrix(x, "x")
    truth = label_vector(labels, "labels", features.shape[0])
    train, val, test = _split_indices(split, features.shape[0])
    candidates = check_c_grid(c_grid, "c_grid")
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")
    classes = np.unique(truth[train])
    if classes.size < 2:
        raise ValueError(f"split[0] (train) must hold at least 2 classes, got {classes.size}")
    best, best_c, best_score = None, candidates[0], -1.0
    for c in candidates:
        probe = make_pipeline(
            StandardScaler(), LogisticRegression(C=c, max_iter=max_iter, random_state=seed)
        )
        probe.fit(features[train], truth[train])
        score = f1_score(truth[val], probe.predict(features[val]), average="macro")
        if score > best_score:
            best, best_c, best_score = probe, c, score
    predicted = best.predict(features[test])
    probabilities = best.predict_proba(features[test])
    if classes.size == 2:
        auc = roc_auc_score(truth[test], probabilities[:, 1])
    else:
        auc = roc_auc_score(truth[test], probabilities, multi_class="ovr", labels=classes)
    return {
        "macro_f1": float(f1_score(truth[test], predicted, average="macro")),
        "micro_f1": float(f1_score(truth[test], predicted, average="micro")),
        "auc": float(auc),
        "c": float(best_c),
    }


def _split_indices(split: tuple[Any, Any, Any], num_rows: int) -> tuple[np.ndarray, ...]:
    """Three non-empty integer index arrays into ``num_rows`` rows, or a ValueError/TypeError."""
    if not isinstance(split, tuple | list) or len(split) != 3:
        raise ValueError(f"split must be a (train, val, test) triple, got {type(split).__name__}")
    arrays = []
    for name, part in zip(("train", "val", "test"), split, strict=True):
        index = as_numpy(part, f"split ({name})")
        if index.ndim != 1 or index.size == 0:
            raise ValueError(
                f"split ({name}) must be a non-empty 1-D index array, got {index.shape}"
            )
        if not np.issubdtype(index.dtype, np.integer):
            raise TypeError(f"split ({name}) must hold integer indices, got dtype {index.dtype}")
        if index.min() < 0 or index.max() >= num_rows:
            raise ValueError(
                f"split ({name}) indices must lie in [0, {num_rows}), got values in "
                f"[{index.min()}, {index.max()}]"
            )
        arrays.append(index.astype(np.int64, copy=False))
    return tuple(arrays)
