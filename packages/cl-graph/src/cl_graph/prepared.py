"""Turn a :class:`~cl_graph.data.HeteroGraph` into the tensors the MEOW encoder consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import scipy.sparse as sp
import torch
from torch import Tensor

from cl_graph.data.graph import HeteroGraph
from cl_graph.metapath import (
    binarize,
    context_matrices,
    metapath_counts,
    pathsim_top_k,
)
from cl_graph.sparse_ops import edge_index_of, gcn_normalized, scipy_to_torch


@dataclass
class PreparedGraph:
    """Tensors for full-batch training on one graph.

    Attributes:
        num_targets: N.
        node_features: node type -> (n_t, F_t) float32 features, or None for learned one-hot.
        node_counts: node type -> n_t.
        target: the target node type.
        metapath_names: meta-path names, in order.
        contexts: per meta-path, a list of (node type, (N, n_t) sparse mean-aggregation matrix,
            its (n_t, N) transpose).
        edge_indices: per meta-path, (2, E) target-target edges without self-loops.
        adjacencies: per meta-path, the GCN-normalised (N, N) sparse adjacency.
        mean_adjacency: the mean of ``adjacencies`` (MEOW's coarse view).
        positives: (N, N) bool positives for the cross-view baseline.
    """

    num_targets: int
    node_features: dict[str, Tensor | None]
    node_counts: dict[str, int]
    target: str
    metapath_names: list[str]
    contexts: list[list[tuple[str, Tensor, Tensor]]]
    edge_indices: list[Tensor]
    adjacencies: list[Tensor]
    mean_adjacency: Tensor
    positives: Tensor


def prepare_graph(
    graph: HeteroGraph, *, top_k: Mapping[str, int] | None = None, positives_per_node: int = 5
) -> PreparedGraph:
    """Meta-path adjacencies, contexts and positives of ``graph`` as torch tensors.

    Args:
        graph: the heterogeneous graph.
        top_k: meta-path name -> keep only that many PathSim-nearest neighbours per node (MEOW
            sparsifies dense meta-paths); other meta-paths keep every neighbour.
        positives_per_node: when ``graph.positives`` is None, each node's positives are itself
            plus its ``positives_per_node - 1`` neighbours with the most meta-path instances
            (HeCo's rule for ``pos.npz``).

    Returns:
        :class:`PreparedGraph`.
    """
    top_k = dict(top_k or {})
    unknown = set(top_k) - {p.name for p in graph.metapaths}
    if unknown:
        raise ValueError(f"top_k names unknown meta-paths {sorted(unknown)}")
    data = graph.data
    size = graph.num_targets
    edge_indices, adjacencies, contexts = [], [], []
    total_counts = sp.csr_matrix((size, size), dtype="float32")
    for path in graph.metapaths:
        counts = None
        if (
            path.name in top_k
            or path.name not in graph.metapath_adjacency
            or graph.positives is None
        ):
            counts = metapath_counts(data, path)
            total_counts = total_counts + counts / max(counts.max(), 1.0)
        if path.name in top_k:
            adjacency = pathsim_top_k(counts, top_k[path.name])
        elif path.name in graph.metapath_adjacency:
            adjacency = graph.metapath_adjacency[path.name]
        else:
            adjacency = binarize(counts)
        adjacency = binarize(adjacency.maximum(adjacency.T))
        edges = edge_index_of(adjacency)
        edge_indices.append(edges)
        adjacencies.append(gcn_normalized(edges, size))
        contexts.append(
            [
                (node_type, scipy_to_torch(matrix), scipy_to_torch(matrix.T))
                for node_type, matrix in zip(
                    path.node_types[1:-1], context_matrices(data, path), strict=True
                )
            ]
        )
    mean_adjacency = _mean_sparse(adjacencies)
    if graph.positives is not None:
        positives = torch.from_numpy(graph.positives.toarray() > 0)
    else:
        positives = _top_count_positives(total_counts, positives_per_node)
    positives.fill_diagonal_(True)
    features = {
        node_type: (data[node_type].x.float() if "x" in data[node_type] else None)
        for node_type in data.node_types
    }
    counts_by_type = {t: int(data[t].num_nodes) for t in data.node_types}
    return PreparedGraph(
        num_targets=size,
        node_features=features,
        node_counts=counts_by_type,
        target=graph.target,
        metapath_names=[p.name for p in graph.metapaths],
        contexts=contexts,
        edge_indices=edge_indices,
        adjacencies=adjacencies,
        mean_adjacency=mean_adjacency,
        positives=positives,
    )


def _mean_sparse(matrices: list[Tensor]) -> Tensor:
    """Element-wise mean of sparse COO tensors of one shape."""
    total = matrices[0]
    for matrix in matrices[1:]:
        total = total + matrix
    return (total * (1.0 / len(matrices))).coalesce()


def _top_count_positives(counts: sp.csr_matrix, per_node: int) -> Tensor:
    """Each node plus its ``per_node - 1`` neighbours with the largest summed path counts."""
    dense = torch.from_numpy(counts.toarray())
    dense.fill_diagonal_(0.0)
    keep = min(per_node - 1, dense.shape[1] - 1)
    positives = torch.zeros(dense.shape, dtype=torch.bool)
    if keep > 0:
        values, index = dense.topk(keep, dim=1)
        positives.scatter_(1, index, values > 0)
    return positives
