"""Meta-path adjacency and meta-path context matrices from a heterogeneous graph's edges.

For a meta-path :math:`t_0 \\to t_1 \\to \\dots \\to t_L` with binary relation matrices
:math:`R_{h} \\in \\{0,1\\}^{n_{t_{h-1}} \\times n_{t_h}}`, the path-instance counts are
:math:`C = R_1 R_2 \\cdots R_L` and the meta-path adjacency is :math:`A = [C > 0]` (Sun et al.,
"PathSim", VLDB 2011). MEOW (Yu & Li, "Heterogeneous Graph Contrastive Learning with Meta-path
Contexts and Weighted Negative Samples", SDM 2023, arXiv:2212.13847) enriches each target node
with its meta-path *context*: for every inner hop :math:`h`, the mean of the hop-:math:`h` nodes
reachable along the path prefix, :math:`M_h = \\mathrm{rownorm}([R_1 \\cdots R_h > 0])`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from cl_graph.data.graph import MetaPath

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData


def relation_matrix(data: HeteroData, source: str, destination: str) -> sp.csr_matrix:
    """Binary (n_source, n_destination) matrix of the edges joining two node types.

    Every edge type between the two types counts, in either direction.

    Raises:
        ValueError: No edge type joins ``source`` and ``destination``.
    """
    shape = (int(data[source].num_nodes), int(data[destination].num_nodes))
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for edge_type in data.edge_types:
        head, _, tail = edge_type
        index = data[edge_type].edge_index.cpu().numpy()
        if (head, tail) == (source, destination):
            rows.append(index[0])
            cols.append(index[1])
        elif (head, tail) == (destination, source):
            rows.append(index[1])
            cols.append(index[0])
    if not rows:
        raise ValueError(
            f"no edge type joins {source!r} and {destination!r}; edge types are {data.edge_types}"
        )
    row, col = np.concatenate(rows), np.concatenate(cols)
    matrix = sp.csr_matrix((np.ones(row.size, dtype=np.float32), (row, col)), shape=shape)
    matrix.data[:] = 1.0
    return matrix


def metapath_counts(data: HeteroData, path: MetaPath) -> sp.csr_matrix:
    """Path-instance counts :math:`C = R_1 \\cdots R_L`, shape (N, N) over the target type."""
    counts = relation_matrix(data, path.node_types[0], path.node_types[1])
    for source, destination in zip(path.node_types[1:-1], path.node_types[2:], strict=True):
        counts = (counts @ relation_matrix(data, source, destination)).tocsr()
    return counts


def metapath_adjacency(data: HeteroData, path: MetaPath) -> sp.csr_matrix:
    """Binary meta-path adjacency :math:`[C > 0]` as a float32 CSR matrix, shape (N, N)."""
    return binarize(metapath_counts(data, path))


def context_matrices(data: HeteroData, path: MetaPath) -> list[sp.csr_matrix]:
    """Row-normalised reachability :math:`M_h` from the target type to each inner hop of the path.

    Returns:
        ``L - 1`` CSR matrices; matrix ``h - 1`` has shape (N, n_{t_h}) and rows that sum to 1
        (or 0 for a node with no path prefix), so ``M_h @ X_{t_h}`` is the mean context.
    """
    matrices = []
    reach = binarize(relation_matrix(data, path.node_types[0], path.node_types[1]))
    matrices.append(row_normalize(reach))
    for source, destination in zip(path.node_types[1:-2], path.node_types[2:-1], strict=True):
        reach = binarize(reach @ relation_matrix(data, source, destination))
        matrices.append(row_normalize(reach))
    return matrices


def binarize(matrix: sp.spmatrix) -> sp.csr_matrix:
    """``[matrix > 0]`` as float32 CSR."""
    result = sp.csr_matrix(matrix, dtype=np.float32)
    result.eliminate_zeros()
    result.data[:] = 1.0
    return result


def row_normalize(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Divide each row by its sum (empty rows stay zero)."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    inverse = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    return sp.csr_matrix(sp.diags(inverse.astype(np.float32)) @ matrix)


def pathsim_top_k(counts: sp.spmatrix, k: int, *, seed: int = 0) -> sp.csr_matrix:
    """Keep, per row, the ``k`` meta-path neighbours with the highest PathSim.

    PathSim (Sun et al., VLDB 2011): :math:`s_{ij} = 2 C_{ij} / (C_{ii} + C_{jj})`. MEOW keeps the
    top-k neighbours of dense meta-paths (e.g. paper-subject-paper) so that the GCN does not
    average over whole classes.

    Args:
        counts: (N, N) path-instance counts of a symmetric meta-path.
        k: neighbours kept per row, >= 1.
        seed: seed of the random tie-break (ties are common: papers of one subject all have
            PathSim 1 under paper-subject-paper).

    Returns:
        Binary (N, N) float32 CSR adjacency with at most ``k`` entries per row.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    counts = sp.csr_matrix(counts, dtype=np.float64)
    diagonal = counts.diagonal()
    tie_break = np.random.default_rng(seed).random(counts.nnz)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for row in range(counts.shape[0]):
        start, end = counts.indptr[row], counts.indptr[row + 1]
        neighbours = counts.indices[start:end]
        if neighbours.size == 0:
            continue
        denominator = diagonal[row] + diagonal[neighbours]
        similarity = 2.0 * counts.data[start:end] / np.where(denominator > 0, denominator, 1.0)
        keep = neighbours[np.lexsort((tie_break[start:end], -similarity))[:k]]
        rows.append(np.full(keep.size, row))
        cols.append(keep)
    if not rows:
        return sp.csr_matrix(counts.shape, dtype=np.float32)
    row_index, col_index = np.concatenate(rows), np.concatenate(cols)
    values = np.ones(row_index.size, dtype=np.float32)
    return sp.csr_matrix((values, (row_index, col_index)), shape=counts.shape)
