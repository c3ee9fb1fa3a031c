r"""Retrieval metrics over query and key embeddings: recall@k, mean reciprocal rank, nDCG@k.

Plus :func:`top_k_coverage_and_ndcg`, recommendation-style Recall@K and nDCG@K over a score matrix.

Queries are scored against every key by dot product (cosine similarity when ``normalize=True``).
Recall@k as in image-text retrieval (e.g. Radford et al., "Learning Transferable Visual Models From
Natural Language Supervision", 2021, arXiv:2103.00020); MRR as in Voorhees, "The TREC-8 Question
Answering Track Report", 1999; nDCG from Järvelin & Kekäläinen, "Cumulated gain-based evaluation of
IR techniques", ACM TOIS 2002.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cl_core.evaluation._arrays import as_numpy, check_same_width, feature_matrix


def recall_at_k(
    queries: Any,
    keys: Any,
    positives: Any,
    ks: Sequence[int] = (1, 5, 10),
    *,
    normalize: bool = True,
) -> dict[int, float]:
    r"""Fraction of queries with at least one positive key among their ``k`` best-scored keys.

    .. math:: \mathrm{R@}k = \frac{1}{Q} \sum_q [\operatorname{rank}_q \le k]

    where :math:`\operatorname{rank}_q` is the rank of the best-scored positive of query :math:`q`
    (see :func:`first_positive_ranks`; ties count against the query).

    Args:
        queries: Query embeddings, shape (Q, D), numpy array or torch tensor.
        keys: Key embeddings, shape (K, D).
        positives: Either a (Q,) integer array, the index of each query's positive key, or a
            (Q, K) boolean array marking every positive key; each query needs at least one.
        ks: Cut-offs, each in [1, K].
        normalize: L2-normalise queries and keys (cosine similarity) before scoring.

    Returns:
        ``{k: recall}`` for each ``k`` in ``ks``, values in [0, 1].

    Example:
        >>> import numpy as np
        >>> keys = np.eye(3)
        >>> queries = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0]])
        >>> recall_at_k(queries, keys, np.array([0, 1]), ks=(1, 2))
        {1: 0.5, 2: 1.0}
    """
    ranks = first_positive_ranks(queries, keys, positives, normalize=normalize)
    cutoffs = _checked_ks(ks, _key_count(keys))
    return {k: float(np.mean(ranks <= k)) for k in cutoffs}


def mean_reciprocal_rank(
    queries: Any, keys: Any, positives: Any, *, normalize: bool = True
) -> float:
    r"""Mean over queries of :math:`1 / \operatorname{rank}_q` of the best-scored positive key.

    Args:
        queries: Query embeddings, shape (Q, D).
        keys: Key embeddings, shape (K, D).
        positives: (Q,) positive key indices or a (Q, K) boolean positive mask.
        normalize: L2-normalise before scoring.

    Returns:
        MRR in (0, 1].

    Example:
        >>> import numpy as np
        >>> keys = np.eye(3)
        >>> queries = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0]])
        >>> mean_reciprocal_rank(queries, keys, np.array([0, 1]))
        0.75
    """
    ranks = first_positive_ranks(queries, keys, positives, normalize=normalize)
    return float(np.mean(1.0 / ranks))


def ndcg_at_k(
    queries: Any, keys: Any, relevance: Any, k: int = 10, *, normalize: bool = True
) -> float:
    r"""Mean normalised discounted cumulative gain of the top ``k`` keys of each query.

    .. math:: \mathrm{DCG@}k = \sum_{r=1}^{k} \frac{\mathrm{rel}_{(r)}}{\log_2(r + 1)}, \qquad
              \mathrm{nDCG@}k = \mathrm{DCG@}k / \mathrm{IDCG@}k

    with :math:`\mathrm{rel}_{(r)}` the relevance of the key ranked :math:`r` and IDCG the DCG of
    the ideal ordering. Computed by ``sklearn.metrics.ndcg_score``, which averages the gain over
    keys with tied scores.

    Args:
        queries: Query embeddings, shape (Q, D).
        keys: Key embeddings, shape (K, D), K >= 2.
        relevance: Graded (non-negative) or binary relevance, shape (Q, K); every query needs at
            least one key with relevance > 0.
        k: Cut-off in [1, K].
        normalize: L2-normalise before scoring.

    Returns:
        nDCG@k in [0, 1].

    Example:
        >>> import numpy as np
        >>> keys = np.eye(3)
        >>> queries = np.array([[0.9, 0.1, 0.0]])
        >>> round(ndcg_at_k(queries, keys, np.array([[0.0, 1.0, 0.0]]), k=3), 4)
        0.6309
    """
    from sklearn.metrics import ndcg_score

    scores = similarity_scores(queries, keys, normalize=normalize)
    gains = as_numpy(relevance, "relevance")
    if gains.shape != scores.shape:
        raise ValueError(f"relevance must have shape (Q, K)={scores.shape}, got {gains.shape}")
    if not np.issubdtype(gains.dtype, np.number) and gains.dtype != np.bool_:
        raise TypeError(f"relevance must hold numbers, got dtype {gains.dtype}")
    gains = gains.astype(np.float64)
    if not np.isfinite(gains).all() or (gains < 0).any():
        raise ValueError("relevance must be finite and non-negative")
    if scores.shape[1] < 2:
        raise ValueError(f"keys must hold at least 2 keys for nDCG, got shape {scores.shape}")
    _check_every_query_has_a_positive(gains > 0, "relevance")
    (cutoff,) = _checked_ks((k,), scores.shape[1])
    return float(ndcg_score(gains, scores, k=cutoff))


def similarity_scores(queries: Any, keys: Any, *, normalize: bool = True) -> np.ndarray:
    """The (Q, K) score matrix ``queries @ keys.T`` (cosine similarities when ``normalize``)."""
    query_matrix = feature_matrix(queries, "queries")
    key_matrix = feature_matrix(keys, "keys")
    check_same_width(query_matrix, key_matrix, "queries", "keys")
    if normalize:
        query_matrix = _unit_rows(query_matrix, "queries")
        key_matrix = _unit_rows(key_matrix, "keys")
    return query_matrix @ key_matrix.T


def first_positive_ranks(
    queries: Any, keys: Any, positives: Any, *, normalize: bool = True
) -> np.ndarray:
    r"""The 1-based rank of each query's best-scored positive key.

    :math:`\operatorname{rank}_q = 1 + |\{j \notin P(q) : s_{qj} \ge \max_{p \in P(q)} s_{qp}\}|`:
    a negative that ties the best positive is ranked above it, so collapsed (all-equal) embeddings
    score as badly as possible rather than perfectly.

    Args:
        queries: Query embeddings, shape (Q, D).
        keys: Key embeddings, shape (K, D).
        positives: (Q,) positive key indices or a (Q, K) boolean positive mask.
        normalize: L2-normalise before scoring.

    Returns:
        Shape (Q,) int64 ranks in [1, K].
    """
    scores = similarity_scores(queries, keys, normalize=normalize)
    positive_mask = _positive_mask(positives, scores.shape)
    best_positive = np.where(positive_mask, scores, -np.inf).max(axis=1, keepdims=True)
    outranking = (scores >= best_positive) & ~positive_mask
    return 1 + outranking.sum(axis=1).astype(np.int64)


def top_k_coverage_and_ndcg(
    scores: Any,
    relevance: Any,
    ks: Sequence[int] = (10, 20),
    *,
    exclude: Any | None = None,
) -> dict[str, float]:
    r"""Recommendation-style Recall@K (coverage of all positives) and nDCG@K from a score matrix.

    For each query :math:`q` with positive set :math:`P_q` (keys with relevance > 0),

    .. math:: \mathrm{Recall@}K = \frac{1}{Q}\sum_q \frac{|\mathrm{top}_K(q) \cap P_q|}{|P_q|}

    (the share of all positives retrieved, as in recommendation and bundle completion, not the
    hit rate of :func:`recall_at_k`) and nDCG@K as in :func:`ndcg_at_k`. Keys marked in ``exclude``
    (e.g. the items already given to the query) are ranked below every other key and must not be
    positive.

    Args:
        scores: (Q, K) query-key scores, higher is better.
        relevance: (Q, K) non-negative relevance (binary or graded); every query needs a positive.
        ks: cut-offs, each in [1, K].
        exclude: optional (Q, K) boolean mask of keys never to rank for that query.

    Returns:
        ``{"recall@K": ..., "ndcg@K": ...}`` for each ``K`` in ``ks``.

    Example:
        >>> import numpy as np
        >>> scores = np.array([[0.9, 0.8, 0.1, 0.0]])
        >>> relevance = np.array([[0, 1, 0, 1]])
        >>> exclude = np.array([[True, False, False, False]])
        >>> top_k_coverage_and_ndcg(scores, relevance, ks=(1,), exclude=exclude)
        {'recall@1': 0.5, 'ndcg@1': 1.0}
    """
    from sklearn.metrics import ndcg_score

    score_matrix = as_numpy(scores, "scores").astype(np.float64)
    if score_matrix.ndim != 2 or score_matrix.shape[1] < 2:
        raise ValueError(f"scores must have shape (Q, K) with K >= 2, got {score_matrix.shape}")
    if not np.isfinite(score_matrix).all():
        raise ValueError("scores must be finite")
    gains = as_numpy(relevance, "relevance")
    if gains.shape != score_matrix.shape:
        raise ValueError(
            f"relevance must have shape (Q, K)={score_matrix.shape}, got {gains.shape}"
        )
    gains = gains.astype(np.float64)
    if not np.isfinite(gains).all() or (gains < 0).any():
        raise ValueError("relevance must be finite and non-negative")
    positive = gains > 0
    _check_every_query_has_a_positive(positive, "relevance")
    cutoffs = _checked_ks(ks, score_matrix.shape[1])
    if exclude is not None:
        excluded = as_numpy(exclude, "exclude")
        if excluded.dtype != np.bool_ or excluded.shape != score_matrix.shape:
            raise ValueError(
                f"exclude must be a boolean (Q, K)={score_matrix.shape} mask, got dtype "
                f"{excluded.dtype} and shape {excluded.shape}"
            )
        if (excluded & positive).any():
            raise ValueError("exclude must not mark a positive key")
        score_matrix = np.where(excluded, score_matrix.min() - 1.0, score_matrix)
    order = np.argsort(-score_matrix, axis=1, kind="stable")
    metrics: dict[str, float] = {}
    for k in cutoffs:
        hits = np.take_along_axis(positive, order[:, :k], axis=1).sum(axis=1)
        metrics[f"recall@{k}"] = float(np.mean(hits / positive.sum(axis=1)))
        metrics[f"ndcg@{k}"] = float(ndcg_score(gains, score_matrix, k=k))
    return metrics


def _unit_rows(matrix: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name} must not contain all-zero rows when normalize=True")
    return matrix / norms


def _positive_mask(positives: Any, shape: tuple[int, int]) -> np.ndarray:
    array = as_numpy(positives, "positives")
    num_queries, num_keys = shape
    if array.dtype == np.bool_:
        if array.shape != shape:
            raise ValueError(
                f"positives as a boolean mask must have shape (Q, K)={shape}, got {array.shape}"
            )
        mask = array
    elif np.issubdtype(array.dtype, np.integer):
        if array.shape != (num_queries,):
            raise ValueError(
                f"positives as indices must have shape (Q,)=({num_queries},), got {array.shape}"
            )
        if array.size and (array.min() < 0 or array.max() >= num_keys):
            raise ValueError(
                f"positives indices must lie in [0, {num_keys}), got values in "
                f"[{array.min()}, {array.max()}]"
            )
        mask = np.zeros(shape, dtype=bool)
        mask[np.arange(num_queries), array] = True
    else:
        raise TypeError(
            f"positives must be integer indices or a boolean mask, got dtype {array.dtype}"
        )
    _check_every_query_has_a_positive(mask, "positives")
    return mask


def _check_every_query_has_a_positive(mask: np.ndarray, name: str) -> None:
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(
            f"{name} must give every query at least one positive key; queries {empty[:5].tolist()}"
            f"{' ...' if empty.size > 5 else ''} have none"
        )


def _key_count(keys: Any) -> int:
    return int(as_numpy(keys, "keys").shape[0])


def _checked_ks(ks: Sequence[int], num_keys: int) -> tuple[int, ...]:
    cutoffs = tuple(ks)
    if not cutoffs:
        raise ValueError("ks must hold at least one cut-off, got none")
    for k in cutoffs:
        if not isinstance(k, int | np.integer) or isinstance(k, bool) or not 1 <= k <= num_keys:
            raise ValueError(
                f"every k must be an int in [1, K={num_keys}] (number of keys), got {k!r}"
            )
    return tuple(int(k) for k in cutoffs)
