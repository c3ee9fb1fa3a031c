"""Sparse-matrix plumbing between scipy, PyG and torch: GCN normalisation and edge dropping.

The symmetric normalisation :math:`\\hat A = D^{-1/2}(A + I)D^{-1/2}` is that of Kipf & Welling,
"Semi-Supervised Classification with Graph Convolutional Networks" (ICLR 2017, arXiv:1609.02907),
computed by :func:`torch_geometric.nn.conv.gcn_conv.gcn_norm`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor


def scipy_to_torch(matrix: sp.spmatrix) -> Tensor:
    """A scipy sparse matrix as a coalesced float32 torch sparse COO tensor."""
    coo = sp.coo_matrix(matrix, dtype=np.float32)
    index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    values = torch.from_numpy(coo.data)
    return torch.sparse_coo_tensor(index, values, coo.shape, check_invariants=True).coalesce()


def edge_index_of(matrix: sp.spmatrix) -> Tensor:
    """The (2, E) int64 edge index of a square scipy adjacency, diagonal removed."""
    coo = sp.coo_matrix(matrix)
    keep = coo.row != coo.col
    return torch.from_numpy(np.vstack([coo.row[keep], coo.col[keep]]).astype(np.int64))


def gcn_normalized(edge_index: Tensor, num_nodes: int) -> Tensor:
    """:math:`D^{-1/2}(A + I)D^{-1/2}` of an unweighted edge list as a sparse COO tensor (N, N)."""
    import warnings

    with warnings.catch_warnings():
        # torch_geometric 2.8 calls the deprecated torch.jit.script at import time.
        warnings.filterwarnings("ignore", message=".*torch.jit.script", category=FutureWarning)
        from torch_geometric.nn.conv.gcn_conv import gcn_norm

    index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
    return torch.sparse_coo_tensor(
        index.flip(0), weight, (num_nodes, num_nodes), check_invariants=True
    ).coalesce()


def drop_edges(edge_index: Tensor, rate: float, generator: torch.Generator | None = None) -> Tensor:
    """Keep each undirected edge (both directions together) with probability ``1 - rate``.

    MEOW's adjacency masking; the result stays symmetric, so :func:`sparse_matmul` can use the
    matrix itself in the backward pass.
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must lie in [0, 1), got {rate}")
    upper = edge_index[:, edge_index[0] < edge_index[1]]
    kept = upper[:, torch.rand(upper.shape[1], generator=generator) >= rate]
    return torch.cat([kept, kept.flip(0)], dim=1)


class _SparseMatmul(torch.autograd.Function):
    """``matrix @ dense`` with the gradient ``transpose @ grad`` from a precomputed transpose."""

    @staticmethod
    def forward(ctx, matrix: Tensor, transpose: Tensor, dense: Tensor) -> Tensor:
        ctx.transpose = transpose
        return torch.sparse.mm(matrix, dense)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, None, Tensor]:
        return None, None, torch.sparse.mm(ctx.transpose, grad)


def sparse_matmul(matrix: Tensor, dense: Tensor, transpose: Tensor | None = None) -> Tensor:
    """``matrix @ dense`` for a constant sparse COO matrix, differentiable in ``dense``.

    PyTorch's own backward of a sparse product transposes the matrix on every call; here the
    transpose is given once (``None`` means the matrix is symmetric, as normalised adjacencies are).
    The product runs in float32 even under mixed precision (autocast is off inside and ``dense``
    is cast to the matrix's dtype): the custom backward runs outside autocast, where a float32
    sparse matrix cannot multiply a bfloat16 gradient, and neighbourhood sums keep full precision.
    """
    with torch.autocast(dense.device.type, enabled=False):
        return _SparseMatmul.apply(
            matrix, matrix if transpose is None else transpose, dense.to(matrix.dtype)
        )
