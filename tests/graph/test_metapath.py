"""Meta-path counts, adjacency, contexts and PathSim top-k against dense loop references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from cl_graph.data import MetaPath
from cl_graph.metapath import (
    context_matrices,
    metapath_adjacency,
    metapath_counts,
    pathsim_top_k,
    relation_matrix,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:FutureWarning")

PAP = MetaPath("PAP", ("paper", "author", "paper"))


def dense_incidence(graph, edge_type):
    data = graph.data
    head, _, tail = edge_type
    matrix = np.zeros((data[head].num_nodes, data[tail].num_nodes))
    for s, d in data[edge_type].edge_index.T.tolist():
        matrix[s, d] = 1.0
    return matrix


def test_relation_matrix_either_direction(synthetic_graph):
    forward = relation_matrix(synthetic_graph.data, "paper", "author").toarray()
    backward = relation_matrix(synthetic_graph.data, "author", "paper").toarray()
    np.testing.assert_array_equal(
        forward, dense_incidence(synthetic_graph, ("paper", "writes", "author"))
    )
    np.testing.assert_array_equal(backward, forward.T)


def test_relation_matrix_without_edges_names_the_types(synthetic_graph):
    with pytest.raises(ValueError, match="'author' and 'subject'"):
        relation_matrix(synthetic_graph.data, "author", "subject")


def test_counts_and_adjacency_match_loop(synthetic_graph):
    incidence = dense_incidence(synthetic_graph, ("paper", "writes", "author"))
    n = incidence.shape[0]
    expected = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            expected[i, j] = sum(
                incidence[i, a] * incidence[j, a] for a in range(incidence.shape[1])
            )
    np.testing.assert_allclose(metapath_counts(synthetic_graph.data, PAP).toarray(), expected)
    np.testing.assert_array_equal(
        metapath_adjacency(synthetic_graph.data, PAP).toarray(), (expected > 0).astype(np.float32)
    )


def test_context_rows_are_means_over_reachable_nodes(synthetic_graph):
    (context,) = context_matrices(synthetic_graph.data, PAP)
    incidence = dense_incidence(synthetic_graph, ("paper", "writes", "author"))
    dense = context.toarray()
    for row in range(dense.shape[0]):
        reachable = np.flatnonzero(incidence[row])
        np.testing.assert_allclose(dense[row, reachable], 1.0 / reachable.size, rtol=1e-6)
        assert dense[row].sum() == pytest.approx(1.0)


def test_longer_path_has_one_context_per_inner_hop(synthetic_graph):
    path = MetaPath("PAPSP", ("paper", "author", "paper", "subject", "paper"))
    matrices = context_matrices(synthetic_graph.data, path)
    assert [m.shape[1] for m in matrices] == [24, 90, 6]


def test_pathsim_top_k_matches_loop():
    rng = np.random.default_rng(0)
    incidence = (rng.random((12, 5)) < 0.4).astype(float)
    counts = incidence @ incidence.T
    kept = pathsim_top_k(sp.csr_matrix(counts), 3).toarray()
    for i in range(12):
        neighbours = np.flatnonzero(counts[i])
        similarity = {j: 2 * counts[i, j] / (counts[i, i] + counts[j, j]) for j in neighbours}
        threshold = sorted(similarity.values(), reverse=True)[:3][-1] if similarity else None
        assert kept[i].sum() == min(3, neighbours.size)
        for j in np.flatnonzero(kept[i]):
            assert similarity[j] >= threshold - 1e-12


def test_pathsim_top_k_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        pathsim_top_k(sp.eye(3), 0)


def test_metapath_definition_is_validated():
    with pytest.raises(ValueError, match="at least 3"):
        MetaPath("PA", ("paper", "author"))
    with pytest.raises(ValueError, match="start and end"):
        MetaPath("PAS", ("paper", "author", "subject"))
