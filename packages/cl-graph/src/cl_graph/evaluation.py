"""Node-classification and clustering scores of frozen node embeddings, in the HeCo/MEOW protocol.

HeCo (Wang et al., KDD 2021, arXiv:2105.09111) and MEOW (Yu & Li, SDM 2023, arXiv:2212.13847) train
a logistic regression on the embeddings of 20, 40 or 60 labelled nodes per class, select it on the
validation nodes and report Macro-F1, Micro-F1 and one-vs-rest AUC on the test nodes
(:func:`cl_core.evaluation.linear_probe_scores`); clustering quality is k-means NMI and ARI
against the labels (:func:`cl_core.evaluation.clustering_scores`). This module adds the x100
scaling, the mean and std over seeds and the papers' table layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def classification_scores_x100(
    embeddings: np.ndarray, labels: np.ndarray, splits: Mapping[int, tuple[np.ndarray, ...]]
) -> dict[str, float]:
    """Macro-F1, Micro-F1 and AUC (x100) of :func:`cl_core.evaluation.linear_probe_scores` for
    every split, keyed ``macro_f1@20``, ``micro_f1@20``, ``auc@20``, ... (labels per class)."""
    from cl_core.evaluation import linear_probe_scores
    from cl_core.evaluation.probe_scores import PROBE_METRICS

    scores: dict[str, float] = {}
    for size, split in sorted(splits.items()):
        probe = linear_probe_scores(embeddings, labels, split)
        for key in PROBE_METRICS:
            scores[f"{key}@{size}"] = 100.0 * probe[key]
    return scores


def evaluate_embeddings(
    embeddings: np.ndarray,
    labels: np.ndarray,
    splits: Mapping[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    seed: int = 0,
) -> dict[str, float]:
    """Every split's classification scores plus k-means NMI/ARI (x100), as one flat dict.

    Keys are ``macro_f1@20``, ``micro_f1@20``, ``auc@20``, ... and ``nmi``, ``ari``.
    """
    from cl_core.evaluation import clustering_scores

    scores = classification_scores_x100(embeddings, labels, splits)
    num_classes = int(np.unique(labels).size)
    clusters = clustering_scores(embeddings, labels, num_classes, seed=seed)
    scores["nmi"] = 100.0 * clusters["nmi"]
    scores["ari"] = 100.0 * clusters["ari"]
    return scores


def summarize(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean and population standard deviation (ddof 0) over runs: ``key`` -> mean and
    ``key_std`` -> std."""
    if not runs:
        raise ValueError("runs must hold at least one result")
    summary: dict[str, float] = {}
    for key in runs[0]:
        values = np.array([run[key] for run in runs], dtype=np.float64)
        summary[key] = float(values.mean())
        summary[f"{key}_std"] = float(values.std())
    return summary


def format_table(
    rows: Mapping[str, Mapping[str, float]], sizes: Sequence[int] = (20, 40, 60)
) -> str:
    """A Markdown table in the papers' layout: one row per (metric, labels per class), one column
    per method, cells ``mean±std``; then NMI and ARI."""
    methods = list(rows)
    lines = [
        "| metric | split | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]

    def cell(summary: Mapping[str, float], key: str) -> str:
        if key not in summary:
            return "-"
        return f"{summary[key]:.2f}±{summary.get(key + '_std', 0.0):.2f}"

    names = {"macro_f1": "Ma-F1", "micro_f1": "Mi-F1", "auc": "AUC"}
    for metric in ("macro_f1", "micro_f1", "auc"):
        for size in sizes:
            key = f"{metric}@{size}"
            cells = " | ".join(cell(rows[m], key) for m in methods)
            lines.append(f"| {names[metric]} | {size} | {cells} |")
    for metric in ("nmi", "ari"):
        cells = " | ".join(cell(rows[m], metric) for m in methods)
        lines.append(f"| {metric.upper()} | - | {cells} |")
    return "\n".join(lines)
