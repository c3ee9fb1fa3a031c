r"""k-nearest-neighbour classification of frozen features.

Weighted voting follows Wu, Xiong, Yu, Lin, "Unsupervised Feature Learning via Non-Parametric
Instance Discrimination", CVPR 2018, arXiv:1805.01978.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from cl_core.evaluation._arrays import check_same_width, feature_matrix, label_vector

KnnMetric = Literal["cosine", "euclidean"]
KnnWeighting = Literal["uniform", "temperature"]


def knn_accuracy(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    k: int = 20,
    metric: KnnMetric = "cosine",
    weighting: KnnWeighting = "uniform",
    temperature: float = 0.07,
) -> float:
    r"""Accuracy of a k-NN classifier that votes with the ``k`` nearest training features.

    With ``weighting="uniform"`` each neighbour casts one vote. With ``"temperature"`` (Wu et al.
    2018; requires ``metric="cosine"``) neighbour :math:`i` with cosine similarity :math:`s_i`
    casts :math:`w_i = e^{s_i / \tau}` and the class score is :math:`\sum_{i \in N_k} w_i
    [y_i = c]`. The class with the highest score wins; ties go to the smallest label. The
    neighbour search is scikit-learn's exact (brute-force) ``NearestNeighbors``.

    Args:
        train_x: Training features, shape (N, D), numpy array or torch tensor.
        train_y: Integer training labels, shape (N,).
        test_x: Test features, shape (M, D).
        test_y: Integer test labels, shape (M,).
        k: Number of neighbours, 1 <= k <= N (Wu et al. use 200 on ImageNet; 20 is common on
            small sets).
        metric: ``"cosine"`` or ``"euclidean"`` distance.
        weighting: ``"uniform"`` or ``"temperature"`` voting.
        temperature: :math:`\tau > 0` of the temperature-weighted vote (0.07 in Wu et al.).

    Returns:
        The fraction of test samples classified correctly, in [0, 1].

    Example:
        >>> import numpy as np
        >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> y = np.array([0, 0, 1, 1])
        >>> knn_accuracy(x, y, x, y, k=2, weighting="temperature")
        1.0
    """
    from sklearn.neighbors import NearestNeighbors

    train = feature_matrix(train_x, "train_x")
    test = feature_matrix(test_x, "test_x")
    check_same_width(train, test, "train_x", "test_x")
    train_labels = label_vector(train_y, "train_y", train.shape[0])
    test_labels = label_vector(test_y, "test_y", test.shape[0])
    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    if weighting not in ("uniform", "temperature"):
        raise ValueError(f"weighting must be 'uniform' or 'temperature', got {weighting!r}")
    if weighting == "temperature" and metric != "cosine":
        raise ValueError(f"weighting='temperature' needs metric='cosine', got metric={metric!r}")
    if not (isinstance(temperature, int | float) and temperature > 0):
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= train.shape[0]:
        raise ValueError(f"k must be an int in [1, N={train.shape[0]}] (training size), got {k!r}")

    search = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(train)
    distances, neighbours = search.kneighbors(test)
    classes, class_index = np.unique(train_labels, return_inverse=True)
    if weighting == "temperature":
        similarities = 1.0 - distances
        # Subtracting the row maximum scales a row's weights equally: same winner, no overflow.
        weights = np.exp((similarities - similarities.max(axis=1, keepdims=True)) / temperature)
    else:
        weights = np.ones_like(distances)
    votes = np.zeros((test.shape[0], classes.size))
    rows = np.repeat(np.arange(test.shape[0]), k)
    np.add.at(votes, (rows, class_index[neighbours].ravel()), weights.ravel())
    predictions = classes[votes.argmax(axis=1)]
    return float(np.mean(predictions == test_labels))
