"""Spearman rank correlation for semantic textual similarity (STS) evaluation.

The STS protocol of SimCSE (Gao, Yao, Chen, "SimCSE: Simple Contrastive Learning of Sentence
Embeddings", EMNLP 2021, arXiv:2104.08821) and Sentence-BERT (Reimers & Gurevych, 2019,
arXiv:1908.10084): Spearman's rho between predicted (cosine) similarities and human scores,
reported x100.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cl_core.evaluation._arrays import score_vector


def spearman(predicted: Any, gold: Any) -> float:
    r"""Spearman's rank correlation :math:`\rho` between predictions and gold scores (scipy).

    :math:`\rho` is the Pearson correlation of the ranks (average ranks for ties), in [-1, 1].

    Args:
        predicted: Predicted similarities, shape (N,), N >= 2, not all equal.
        gold: Human similarity scores, shape (N,), not all equal.

    Returns:
        :math:`\rho` as a float.

    Example:
        >>> spearman([0.1, 0.4, 0.3], [1.0, 5.0, 2.0])
        1.0
    """
    from scipy.stats import spearmanr

    predictions = score_vector(predicted, "predicted")
    targets = score_vector(gold, "gold")
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predicted and gold must have the same length, got {predictions.shape[0]} and "
            f"{targets.shape[0]}"
        )
    if predictions.shape[0] < 2:
        raise ValueError(f"predicted must hold at least 2 scores, got {predictions.shape[0]}")
    for values, name in ((predictions, "predicted"), (targets, "gold")):
        if np.all(values == values[0]):
            raise ValueError(
                f"{name} must not be constant (Spearman's rho is undefined), got all "
                f"values equal to {values[0]}"
            )
    return float(spearmanr(predictions, targets).statistic)


def spearman_x100(predicted: Any, gold: Any) -> float:
    """:func:`spearman` times 100, the unit of STS tables (e.g. SimCSE's 76.25 average).

    Example:
        >>> spearman_x100([0.1, 0.4, 0.3], [1.0, 5.0, 2.0])
        100.0
    """
    return 100.0 * spearman(predicted, gold)
