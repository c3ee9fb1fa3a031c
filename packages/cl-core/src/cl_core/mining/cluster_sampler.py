r"""MCL's cluster-conditioned batches: every minibatch comes from one pseudo-label cluster.

Zhang et al., "Learning the Unlearned: Mitigating Feature Suppression in Contrastive Learning"
(MCL, multistage contrastive learning), ECCV 2024. In-batch negatives that share the features
already learned (same cluster) force the unchanged InfoNCE/CLIP loss to use new ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import Sampler

from cl_core.validation import check_labels, check_tensor_dim


def multistage_pseudo_labels(stage_assignments: Tensor, num_clusters: int) -> Tensor:
    r"""Combine the cluster ids of every stage into one pseudo-label per sample (MCL).

    .. math:: y = \sum_{s=0}^{S-1} c_s \, K^{S-1-s}, \quad \text{i.e. } y \leftarrow y K + c_s

    so two samples share a pseudo-label iff they share a cluster at every stage.

    Args:
        stage_assignments: (S, N) integer cluster ids in [0, K), one row per stage.
        num_clusters: K, the number of clusters of each stage's k-means.

    Returns:
        (N,) int64 pseudo-labels in [0, K^S).

    Example:
        >>> import torch
        >>> multistage_pseudo_labels(torch.tensor([[0, 1, 1], [2, 0, 2]]), num_clusters=3)
        tensor([2, 3, 5])
    """
    check_tensor_dim(stage_assignments, 2, "stage_assignments", "(S, N)")
    if stage_assignments.is_floating_point() or stage_assignments.dtype == torch.bool:
        raise TypeError(
            f"stage_assignments must be an integer tensor, got dtype {stage_assignments.dtype}"
        )
    if stage_assignments.shape[0] == 0:
        raise ValueError("stage_assignments must hold at least one stage, got shape (0, N)")
    if not isinstance(num_clusters, int) or num_clusters < 1:
        raise ValueError(f"num_clusters must be an int >= 1, got {num_clusters!r}")
    if stage_assignments.numel() and (
        int(stage_assignments.min()) < 0 or int(stage_assignments.max()) >= num_clusters
    ):
        raise ValueError(
            f"stage_assignments entries must lie in [0, {num_clusters}), got values in "
            f"[{int(stage_assignments.min())}, {int(stage_assignments.max())}]"
        )
    labels = torch.zeros(stage_assignments.shape[1], dtype=torch.long)
    for stage in stage_assignments.long().cpu():
        labels = labels * num_clusters + stage
    return labels


class ClusterBatchSampler(Sampler[list[int]]):
    """Yield index batches that each hold samples of a single cluster, cycling over clusters.

    Each epoch, every cluster's members are shuffled and cut into batches of ``batch_size``
    (the last one smaller unless ``drop_last``); the batches are then emitted round-robin, one
    per cluster in turn (clusters in a shuffled order), until all are used. Every sample appears
    exactly once per epoch (apart from dropped remainders). Use it as a ``DataLoader``'s
    ``batch_sampler``; call ``set_epoch`` each epoch for a new, reproducible order.

    This sampler does not shard across processes; under DDP give each rank its own sampler over
    its own subset.

    Args:
        cluster_labels: (N,) integer pseudo-labels (e.g. :func:`multistage_pseudo_labels`).
        batch_size: Samples per batch (>= 1).
        drop_last: Drop each cluster's final batch when it is smaller than ``batch_size``.
        shuffle: Shuffle members and cluster order (otherwise index order).
        seed: Base seed; epoch ``e`` uses ``seed + e``.

    Example:
        >>> import torch
        >>> sampler = ClusterBatchSampler(torch.tensor([0, 1, 0, 1, 0]), 2, shuffle=False)
        >>> list(sampler)
        [[0, 2], [1, 3], [4]]
    """

    def __init__(
        self,
        cluster_labels: Tensor,
        batch_size: int,
        *,
        drop_last: bool = False,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        check_tensor_dim(cluster_labels, 1, "cluster_labels", "(N,)")
        check_labels(cluster_labels, cluster_labels.shape[0], "cluster_labels")
        if cluster_labels.numel() == 0:
            raise ValueError("cluster_labels must be non-empty, got shape (0,)")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        labels = cluster_labels.long().cpu()
        self.members = [torch.nonzero(labels == c).flatten() for c in torch.unique(labels)]
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order the next ``__iter__`` yields."""
        self.epoch = epoch

    def __len__(self) -> int:
        if self.drop_last:
            return sum(len(m) // self.batch_size for m in self.members)
        return sum(-(-len(m) // self.batch_size) for m in self.members)

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        per_cluster: list[list[list[int]]] = []
        for members in self.members:
            if self.shuffle:
                members = members[torch.randperm(len(members), generator=generator)]
            batches = [chunk.tolist() for chunk in members.split(self.batch_size)]
            if self.drop_last and len(batches[-1]) < self.batch_size:
                batches.pop()
            per_cluster.append(batches)
        cluster_order = (
            torch.randperm(len(per_cluster), generator=generator).tolist()
            if self.shuffle
            else list(range(len(per_cluster)))
        )
        longest = max((len(b) for b in per_cluster), default=0)
        for round_index in range(longest):
            for cluster in cluster_order:
                if round_index < len(per_cluster[cluster]):
                    yield per_cluster[cluster][round_index]
