"""Clustering quality of frozen features: k-means, then NMI and ARI against the true labels.

The protocol used by HeCo (Wang et al., KDD 2021, arXiv:2105.09111) and MEOW for node embeddings.
NMI: Strehl & Ghosh, "Cluster Ensembles", JMLR 2002; ARI: Hubert & Arabie, "Comparing
partitions", Journal of Classification 1985.
"""

from __future__ import annotations

from typing import Any

from cl_core.evaluation._arrays import feature_matrix, label_vector


def clustering_scores(
    x: Any, labels: Any, n_clusters: int, *, seed: int = 0, n_init: int = 10
) -> dict[str, float]:
    """Run scikit-learn ``KMeans`` on ``x`` and score its clusters against ``labels``.

    Args:
        x: Features, shape (N, D), numpy array or torch tensor.
        labels: Integer ground-truth labels, shape (N,).
        n_clusters: Number of k-means clusters, in [2, N] (usually the number of classes).
        seed: ``random_state`` of k-means.
        n_init: Number of k-means restarts (>= 1); the best inertia wins.

    Returns:
        ``{"nmi": ..., "ari": ...}``: normalised mutual information in [0, 1] and adjusted Rand
        index in [-0.5, 1] (1 for a perfect match, about 0 for chance).

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0], [0.1], [5.0], [5.1]])
        >>> clustering_scores(x, np.array([0, 0, 1, 1]), n_clusters=2)
        {'nmi': 1.0, 'ari': 1.0}
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    features = feature_matrix(x, "x")
    truth = label_vector(labels, "labels", features.shape[0])
    if not isinstance(n_clusters, int) or not 2 <= n_clusters <= features.shape[0]:
        raise ValueError(
            f"n_clusters must be an int in [2, N={features.shape[0]}], got {n_clusters!r}"
        )
    if not isinstance(n_init, int) or n_init < 1:
        raise ValueError(f"n_init must be an int >= 1, got {n_init!r}")
    assignments = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit_predict(
        features
    )
    return {
        "nmi": float(normalized_mutual_info_score(truth, assignments)),
        "ari": float(adjusted_rand_score(truth, assignments)),
    }
