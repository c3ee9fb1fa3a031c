r"""Likely false negatives from labels or repeated clusterings, as masks, weights or log-weights.

Cluster-agreement weights: Yu & Li, "Heterogeneous Graph Contrastive Learning with Meta-path
Contexts and Weighted Negative Samples" (MEOW), SDM 2023.

The log-weights fit the ``log_weights`` argument of :func:`cl_core.losses.masked_logits_loss`:
:math:`\log w_{ij}` is added to the logit of negative :math:`j` in row :math:`i`'s denominator,
so :math:`w_{ij} = 0` (:math:`\log w = -\infty`) drops that negative.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from cl_core.validation import check_embeddings, check_labels, check_tensor_dim


def same_label_mask(anchor_labels: Tensor, candidate_labels: Tensor) -> Tensor:
    """The (N, M) bool mask of pairs that share a label: false negatives under supervision.

    Args:
        anchor_labels: (N,) integer labels (class ids or cluster ids).
        candidate_labels: (M,) integer labels.

    Returns:
        ``mask[i, j] = anchor_labels[i] == candidate_labels[j]``.

    Example:
        >>> import torch
        >>> same_label_mask(torch.tensor([0, 1]), torch.tensor([1, 1, 0]))
        tensor([[False, False,  True],
                [ True,  True, False]])
    """
    check_tensor_dim(anchor_labels, 1, "anchor_labels", "(N,)")
    check_labels(anchor_labels, anchor_labels.shape[0], "anchor_labels")
    check_tensor_dim(candidate_labels, 1, "candidate_labels", "(M,)")
    check_labels(candidate_labels, candidate_labels.shape[0], "candidate_labels")
    return anchor_labels.unsqueeze(1) == candidate_labels.unsqueeze(0)


def mask_to_log_weights(drop_mask: Tensor) -> Tensor:
    """Log-weights that drop the marked negatives: ``-inf`` where ``drop_mask``, else 0.

    Args:
        drop_mask: (N, M) bool mask of negatives to remove (e.g. :func:`same_label_mask`).

    Returns:
        (N, M) float32 tensor.

    Example:
        >>> import torch
        >>> mask_to_log_weights(torch.tensor([[True, False]]))
        tensor([[-inf, 0.]])
    """
    check_tensor_dim(drop_mask, 2, "drop_mask", "(N, M)")
    if drop_mask.dtype != torch.bool:
        raise TypeError(f"drop_mask must be a bool tensor, got dtype {drop_mask.dtype}")
    zeros = torch.zeros(drop_mask.shape, device=drop_mask.device)
    return zeros.masked_fill(drop_mask, float("-inf"))


def kmeans_assignments(x: Tensor, cluster_counts: Sequence[int], *, seed: int = 0) -> Tensor:
    """Cluster ``x`` once per entry of ``cluster_counts`` with scikit-learn ``KMeans``.

    MEOW runs k-means (faiss) with several cluster counts on the embeddings every epoch, e.g.
    ``[100, 300]`` on ACM; here each count gets one scikit-learn ``KMeans`` run (``n_init=1``,
    k-means++ initialisation) in place of faiss.

    Args:
        x: (N, D) embeddings (detached and moved to the CPU for clustering).
        cluster_counts: Number of clusters of each run, each in [1, N].
        seed: ``random_state`` of run ``r`` is ``seed + r``.

    Returns:
        (K, N) int64 cluster ids, one row per run, on the device of ``x``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0], [0.1], [5.0], [5.1]])
        >>> runs = kmeans_assignments(x, [2, 4])
        >>> runs.shape, bool(runs[0, 0] == runs[0, 1])
        (torch.Size([2, 4]), True)
    """
    from sklearn.cluster import KMeans

    check_embeddings(x, "x")
    counts = list(cluster_counts)
    if not counts:
        raise ValueError("cluster_counts must hold at least one cluster count, got none")
    for count in counts:
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= x.shape[0]:
            raise ValueError(
                f"every entry of cluster_counts must be an int in [1, N={x.shape[0]}], "
                f"got {count!r}"
            )
    features = x.detach().cpu().double().numpy()
    runs = [
        KMeans(n_clusters=count, n_init=1, random_state=seed + run).fit_predict(features)
        for run, count in enumerate(counts)
    ]
    return torch.as_tensor(np.stack(runs), dtype=torch.long, device=x.device)


def cluster_agreement_weights(assignments: Tensor) -> Tensor:
    r"""MEOW's negative weights from K clusterings: the number of runs that separate i and j.

    .. math:: w_{ij} = K - \sum_{k=1}^{K} [c_k(i) = c_k(j)]

    A pair that every run puts in the same cluster (a likely false negative) gets :math:`w = 0`
    and is dropped; :math:`w_{ii} = 0`. Feed :math:`\log w` (``torch.log``) as ``log_weights``.

    Args:
        assignments: (K, N) integer cluster ids, one row per clustering run.

    Returns:
        (N, N) float32 weights in {0, ..., K}.

    Example:
        >>> import torch
        >>> cluster_agreement_weights(torch.tensor([[0, 0, 1], [0, 1, 1]]))
        tensor([[0., 1., 2.],
                [1., 0., 1.],
                [2., 1., 0.]])
    """
    check_tensor_dim(assignments, 2, "assignments", "(K, N)")
    if assignments.is_floating_point() or assignments.dtype == torch.bool:
        raise TypeError(f"assignments must be an integer tensor, got dtype {assignments.dtype}")
    if assignments.numel() == 0:
        raise ValueError(f"assignments must be non-empty, got shape {tuple(assignments.shape)}")
    # One run at a time: peak memory N^2 bytes of comparison plus the float32 result, instead of
    # a (K, N, N) comparison tensor and an int64 sum.
    size = assignments.shape[1]
    weights = torch.full((size, size), float(assignments.shape[0]), device=assignments.device)
    for run in assignments:
        weights -= (run.unsqueeze(1) == run.unsqueeze(0)).float()
    return weights
