"""STS evaluation in the SimCSE tables' format: Spearman x 100 of cosine similarity vs gold scores.

Gao, Yao, Chen, "SimCSE", EMNLP 2021, arXiv:2104.08821 (Table: STS12-16, STS-B, SICK-R, Avg.), "all"
setting for STS12-16: one Spearman correlation over the concatenation of a year's test sets.

Extra check, on documents rather than sentences: the Lee set (Lee, Pincombe, Welsh, CogSci 2005;
:mod:`cl_text.data.lee`), Pearson and Spearman x 100 between the model's cosine similarities of the
50 documents and the human similarity matrix, over the 1,225 pairs of its upper triangle (gensim's
LSI reaches Pearson 0.6 here, the value of the original paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import pearsonr, spearmanr

from cl_text.data.lee import LeeCorpus
from cl_text.data.sts import STSSet

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

AVERAGE = "Avg."
LEE_MAX_SEQ_LEN = 256


def cosine_spearman(first: np.ndarray, second: np.ndarray, gold: Sequence[float]) -> float:
    """Spearman x 100 of the row-wise cosine of two (N, D) arrays against ``gold`` (N)."""
    if first.shape != second.shape or first.ndim != 2 or first.shape[0] != len(gold):
        raise ValueError(
            f"first and second must both be (N, D) with N={len(gold)} like gold, got "
            f"{first.shape} and {second.shape}"
        )
    if len(gold) < 2:
        raise ValueError(f"need at least 2 pairs for a rank correlation, got {len(gold)}")
    a = first / np.linalg.norm(first, axis=1, keepdims=True).clip(1e-12)
    b = second / np.linalg.norm(second, axis=1, keepdims=True).clip(1e-12)
    return float(spearmanr((a * b).sum(axis=1), np.asarray(gold)).statistic * 100.0)


def evaluate_sts(
    model: SentenceTransformer, sets: Sequence[STSSet], *, batch_size: int = 128
) -> dict[str, float]:
    """Spearman x 100 on every set, plus their average under ``"Avg."``.

    Example:
        >>> evaluate_sts(model, load_sts_benchmarks("/work/shared/data/sts"))  # doctest: +SKIP
        {'STS12': 72.4, ..., 'SICK-R': 78.0, 'Avg.': 80.1}
    """
    if not sets:
        raise ValueError("sets must hold at least one STSSet, got none")
    scores: dict[str, float] = {}
    for sts in sets:
        first = model.encode(sts.first, batch_size=batch_size, convert_to_numpy=True)
        second = model.encode(sts.second, batch_size=batch_size, convert_to_numpy=True)
        scores[sts.name] = cosine_spearman(first, second, sts.scores)
    scores[AVERAGE] = float(np.mean(list(scores.values())))
    return scores


def sts_table(rows: dict[str, dict[str, float]]) -> str:
    """A Markdown table, one row per model, columns ordered as in the first row (SimCSE layout)."""
    if not rows:
        raise ValueError("rows must hold at least one model's scores, got none")
    columns = list(next(iter(rows.values())))
    lines = [
        "| Model | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name, scores in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{scores[c]:.2f}" for c in columns) + " |")
    return "\n".join(lines)


def similarity_matrix_correlation(embeddings: np.ndarray, human: np.ndarray) -> dict[str, float]:
    """Pearson and Spearman x 100 of pairwise cosines vs ``human`` over the strict upper triangle.

    Args:
        embeddings: (N, D) document embeddings, N >= 3.
        human: (N, N) human similarities; only entries above the diagonal are read.

    Returns:
        ``{"pearson": ..., "spearman": ...}``.
    """
    if embeddings.ndim != 2 or embeddings.shape[0] < 3:
        raise ValueError(f"embeddings must be (N, D) with N >= 3, got {embeddings.shape}")
    n = embeddings.shape[0]
    if human.shape != (n, n):
        raise ValueError(f"human must be ({n}, {n}) like the embeddings, got {human.shape}")
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(1e-12)
    rows, cols = np.triu_indices(n, k=1)
    model = (unit[rows] * unit[cols]).sum(axis=1)
    gold = human[rows, cols]
    return {
        "pearson": float(pearsonr(model, gold).statistic * 100.0),
        "spearman": float(spearmanr(model, gold).statistic * 100.0),
    }


def evaluate_lee(
    model: SentenceTransformer,
    lee: LeeCorpus,
    *,
    max_seq_len: int = LEE_MAX_SEQ_LEN,
    batch_size: int = 16,
) -> dict[str, float]:
    """Lee document similarity: correlations of the model's cosines with the human matrix.

    Documents are encoded with up to ``max_seq_len`` tokens (longer ones are truncated); the
    model's own limit is restored afterwards.

    Example:
        >>> evaluate_lee(model, load_lee_corpus())  # doctest: +SKIP
        {'pearson': 61.2, 'spearman': 45.0}
    """
    if max_seq_len < 1:
        raise ValueError(f"max_seq_len must be >= 1, got {max_seq_len}")
    previous = model.max_seq_length
    model.max_seq_length = max_seq_len
    try:
        embeddings = model.encode(lee.documents, batch_size=batch_size, convert_to_numpy=True)
    finally:
        model.max_seq_length = previous
    return similarity_matrix_correlation(embeddings, lee.similarities)
