"""Recall@k, MRR and nDCG@k on hand-computed cases.

With ``keys = identity`` and ``normalize=False`` the score matrix equals ``queries``, so each test
writes the scores down directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cl_core.evaluation import first_positive_ranks, mean_reciprocal_rank, ndcg_at_k, recall_at_k

SCORES = np.array(
    [
        [0.9, 0.5, 0.1, 0.3],  # positive 0 ranked 1st
        [0.2, 0.8, 0.6, 0.4],  # positive 3 ranked 3rd
        [0.7, 0.3, 0.2, 0.1],  # positive 1 ranked 2nd
    ]
)
POSITIVES = np.array([0, 3, 1])
KEYS = np.eye(4)


def test_ranks_recall_and_mrr_match_hand_computation() -> None:
    ranks = first_positive_ranks(SCORES, KEYS, POSITIVES, normalize=False)
    assert ranks.tolist() == [1, 3, 2]
    recall = recall_at_k(SCORES, KEYS, POSITIVES, ks=(1, 2, 3, 4), normalize=False)
    assert recall == pytest.approx({1: 1 / 3, 2: 2 / 3, 3: 1.0, 4: 1.0})
    mrr = mean_reciprocal_rank(SCORES, KEYS, POSITIVES, normalize=False)
    assert mrr == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)


def test_multiple_positives_use_the_best_ranked_one() -> None:
    mask = np.array(
        [
            [False, False, True, True],  # best positive 3 (0.3) ranked 3rd
            [False, False, True, True],  # best positive 2 (0.6) ranked 2nd
            [True, True, False, False],  # best positive 0 ranked 1st
        ]
    )
    assert first_positive_ranks(SCORES, KEYS, mask, normalize=False).tolist() == [3, 2, 1]
    assert recall_at_k(SCORES, KEYS, mask, ks=(1, 2), normalize=False) == pytest.approx(
        {1: 1 / 3, 2: 2 / 3}
    )


def test_ties_count_against_the_query_so_collapse_scores_worst() -> None:
    collapsed = np.ones((3, 4))
    assert first_positive_ranks(collapsed, KEYS, POSITIVES, normalize=False).tolist() == [4, 4, 4]
    assert recall_at_k(collapsed, KEYS, POSITIVES, ks=(1, 3), normalize=False) == {1: 0.0, 3: 0.0}


def test_normalisation_makes_scores_cosine_similarities() -> None:
    keys = np.array([[10.0, 0.0], [0.0, 1.0]])
    queries = np.array([[1.0, 2.0]])
    assert first_positive_ranks(queries, keys, np.array([0]), normalize=False).tolist() == [1]
    assert first_positive_ranks(queries, keys, np.array([0])).tolist() == [2]


def test_ndcg_matches_hand_computed_discounts() -> None:
    relevance = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 2.0, 0.0, 1.0]])
    scores = SCORES[:2]
    # Row 0: the relevant key is ranked 3rd -> 1/log2(4); ideal 1.
    # Row 1: order 1, 2, 3, 0 -> gains 2, 0, 1 -> 2 + 1/log2(4); ideal 2 + 1/log2(3).
    row_one = (2 + 1 / math.log2(4)) / (2 + 1 / math.log2(3))
    expected = (1 / math.log2(4) + row_one) / 2
    assert ndcg_at_k(scores, KEYS, relevance, k=4, normalize=False) == pytest.approx(expected)
    # With k=2 the first row's relevant key falls outside the cut-off.
    at_two = (0.0 + 2 / (2 + 1 / math.log2(3))) / 2
    assert ndcg_at_k(scores, KEYS, relevance, k=2, normalize=False) == pytest.approx(at_two)


def test_perfect_ranking_gives_ndcg_one_and_mrr_one() -> None:
    queries = torch.eye(4)
    assert ndcg_at_k(queries, torch.eye(4), np.eye(4), k=2) == pytest.approx(1.0)
    assert mean_reciprocal_rank(queries, torch.eye(4), torch.arange(4)) == 1.0


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"every k must be an int in \[1, K=4\]"):
        recall_at_k(SCORES, KEYS, POSITIVES, ks=(1, 5))
    with pytest.raises(ValueError, match="ks must hold at least one"):
        recall_at_k(SCORES, KEYS, POSITIVES, ks=())
    with pytest.raises(ValueError, match=r"positives as indices must have shape \(Q,\)=\(3,\)"):
        recall_at_k(SCORES, KEYS, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"positives indices must lie in \[0, 4\)"):
        mean_reciprocal_rank(SCORES, KEYS, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"queries \[1\] have none"):
        mean_reciprocal_rank(SCORES, KEYS, np.array([[1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]) > 0)
    with pytest.raises(TypeError, match="positives must be integer indices or a boolean mask"):
        recall_at_k(SCORES, KEYS, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="keys must have the same width"):
        recall_at_k(SCORES, np.eye(3), POSITIVES)
    with pytest.raises(ValueError, match="all-zero rows"):
        recall_at_k(np.zeros((3, 4)), KEYS, POSITIVES)
    with pytest.raises(ValueError, match="relevance must be finite and non-negative"):
        ndcg_at_k(SCORES, KEYS, -np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"relevance must have shape \(Q, K\)"):
        ndcg_at_k(SCORES, KEYS, np.ones((3, 3)))
