"""Several k-means runs with PCL-style prototype concentrations, for MEOW's weights and ProtoNCE.

Concentration (Li et al., "Prototypical Contrastive Learning of Unsupervised Representations",
ICLR 2021, arXiv:2005.04966): for a cluster c with members Z_c and centroid mu_c,
:math:`\\phi_c = \\sum_{z \\in Z_c} \\lVert z - \\mu_c \\rVert_2 \\,/\\,
(|Z_c| \\log(|Z_c| + \\alpha))`;
single-member clusters take the largest value, values are clipped to the 10th-90th percentile and
scaled so that their mean is the temperature :math:`\\tau`. k-means is scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass
class ClusterRuns:
    """Result of :func:`run_kmeans`.

    Attributes:
        assignments: (K, N) int64 cluster id of each node per run.
        centroids: K float32 tensors (C_k, D), L2-normalised.
        concentrations: K float32 tensors (C_k,), each with mean tau.
    """

    assignments: Tensor
    centroids: list[Tensor]
    concentrations: list[Tensor]


def run_kmeans(
    embeddings: Tensor,
    cluster_counts: Sequence[int],
    *,
    temperature: float,
    seed: int = 0,
    alpha: float = 10.0,
    max_iter: int = 20,
) -> ClusterRuns:
    """k-means with each cluster count in ``cluster_counts`` on detached embeddings.

    Args:
        embeddings: (N, D) embeddings; copied to NumPy, no gradient.
        cluster_counts: number of clusters per run; each must lie in [2, N].
        temperature: mean concentration :math:`\\tau > 0`.
        seed: seed of run k is ``seed + k``.
        alpha: smoothing :math:`\\alpha` of the concentration.
        max_iter: Lloyd iterations per run.

    Returns:
        :class:`ClusterRuns`.

    Example:
        >>> runs = run_kmeans(torch.randn(50, 4), [3, 5], temperature=0.4)
        >>> runs.assignments.shape, [c.shape[0] for c in runs.centroids]
        (torch.Size([2, 50]), [3, 5])
    """
    from sklearn.cluster import KMeans

    if embeddings.dim() != 2:
        raise ValueError(f"embeddings must be (N, D), got {tuple(embeddings.shape)}")
    num_nodes = embeddings.shape[0]
    if not cluster_counts:
        raise ValueError("cluster_counts must list at least one cluster count, got none")
    for count in cluster_counts:
        if not 2 <= count <= num_nodes:
            raise ValueError(f"cluster_counts must lie in [2, N={num_nodes}], got {count}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    points = embeddings.detach().float().cpu().numpy()
    assignments, centroids, concentrations = [], [], []
    for run, count in enumerate(cluster_counts):
        model = KMeans(n_clusters=count, n_init=1, max_iter=max_iter, random_state=seed + run)
        labels = model.fit_predict(points)
        centers = model.cluster_centers_.astype(np.float32)
        assignments.append(labels.astype(np.int64))
        centroids.append(torch.nn.functional.normalize(torch.from_numpy(centers), dim=1))
        phi = _concentrations(points, labels, centers, temperature, alpha)
        concentrations.append(torch.from_numpy(phi))
    return ClusterRuns(torch.from_numpy(np.stack(assignments)), centroids, concentrations)


def _concentrations(
    points: np.ndarray, labels: np.ndarray, centers: np.ndarray, temperature: float, alpha: float
) -> np.ndarray:
    """PCL concentration per cluster (see the module docstring)."""
    count = centers.shape[0]
    distances = np.linalg.norm(points - centers[labels], axis=1)
    sizes = np.bincount(labels, minlength=count)
    sums = np.bincount(labels, weights=distances, minlength=count)
    phi = np.zeros(count)
    multi = sizes > 1
    phi[multi] = sums[multi] / (sizes[multi] * np.log(sizes[multi] + alpha))
    largest = phi[multi].max() if multi.any() else 1.0
    phi[~multi] = largest if largest > 0 else 1.0
    phi = np.clip(phi, np.percentile(phi, 10), np.percentile(phi, 90))
    if not (phi > 0).any():
        phi = np.ones(count)
    phi = np.where(phi > 0, phi, phi[phi > 0].min())
    return (temperature * phi / phi.mean()).astype(np.float32)
