"""top_k_coverage_and_ndcg against a per-query loop written from the definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cl_core.evaluation import top_k_coverage_and_ndcg


def reference(scores, relevance, k, exclude):
    """Sort each query's non-excluded keys, count positives in the top k, DCG / IDCG by hand."""
    recalls, ndcgs = [], []
    for row_scores, row_rel, row_excl in zip(scores, relevance, exclude, strict=True):
        candidates = [j for j in range(len(row_scores)) if not row_excl[j]]
        ranked = sorted(candidates, key=lambda j: -row_scores[j])
        excluded = [j for j in range(len(row_scores)) if row_excl[j]]
        ranked += excluded  # excluded keys come last (they are never positive)
        top = ranked[:k]
        positives = {j for j in range(len(row_rel)) if row_rel[j] > 0}
        recalls.append(len(positives & set(top)) / len(positives))
        dcg = sum(row_rel[j] / math.log2(r + 2) for r, j in enumerate(top))
        ideal = sorted(row_rel, reverse=True)[:k]
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
        ndcgs.append(dcg / idcg)
    return float(np.mean(recalls)), float(np.mean(ndcgs))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_loop_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(6, 12))  # continuous: no ties
    relevance = (rng.random((6, 12)) < 0.3).astype(float) * rng.integers(1, 3, (6, 12))
    relevance[np.arange(6), rng.integers(0, 12, 6)] = 1.0
    exclude = (rng.random((6, 12)) < 0.2) & (relevance == 0)
    metrics = top_k_coverage_and_ndcg(scores, relevance, ks=(1, 3, 12), exclude=exclude)
    for k in (1, 3, 12):
        recall, ndcg = reference(scores, relevance, k, exclude)
        assert metrics[f"recall@{k}"] == pytest.approx(recall)
        assert metrics[f"ndcg@{k}"] == pytest.approx(ndcg)
    assert metrics["recall@12"] == 1.0


def test_excluded_keys_are_not_ranked() -> None:
    scores = np.array([[5.0, 4.0, 1.0, 0.0]])
    relevance = np.array([[0, 0, 1, 0]])
    plain = top_k_coverage_and_ndcg(scores, relevance, ks=(1,))
    excluded = top_k_coverage_and_ndcg(
        scores, relevance, ks=(1,), exclude=np.array([[True, True, False, False]])
    )
    assert plain["recall@1"] == 0.0
    assert excluded["recall@1"] == 1.0


def test_recall_is_coverage_not_hit_rate() -> None:
    scores = np.array([[3.0, 2.0, 1.0, 0.0]])
    relevance = np.array([[1, 0, 1, 1]])
    assert top_k_coverage_and_ndcg(scores, relevance, ks=(1,))["recall@1"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("scores", "relevance", "kwargs", "message"),
    [
        (np.zeros((2, 1)), np.ones((2, 1)), {}, "K >= 2"),
        (np.zeros((2, 3)), np.ones((3, 3)), {"ks": (1,)}, "relevance must have shape"),
        (np.zeros((2, 3)), -np.ones((2, 3)), {"ks": (1,)}, "non-negative"),
        (np.zeros((2, 3)), np.array([[1, 0, 0], [0, 0, 0]]), {"ks": (1,)}, "at least one positive"),
        (np.full((1, 3), np.nan), np.ones((1, 3)), {"ks": (1,)}, "finite"),
        (np.zeros((1, 3)), np.ones((1, 3)), {"ks": (4,)}, "every k"),
        (
            np.zeros((1, 3)),
            np.eye(3)[:1],
            {"ks": (1,), "exclude": np.array([[1, 0, 0]])},
            "boolean",
        ),
        (
            np.zeros((1, 3)),
            np.eye(3)[:1],
            {"ks": (1,), "exclude": np.array([[True, False, False]])},
            "must not mark a positive",
        ),
    ],
)
def test_bad_inputs(scores, relevance, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        top_k_coverage_and_ndcg(scores, relevance, **kwargs)
