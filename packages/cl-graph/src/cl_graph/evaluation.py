"""Node-classification and clustering scores of frozen node embeddings, in the HeCo/MEOW protocol.

HeCo (Wang et al., KDD 2021, arXiv:2105.09111) and MEOW (Yu & Li, SDM 2023, arXiv:2212.13847) train
a logistic regression on the embeddings of 20, 40 or 60 labelled nodes per class, select it on the
validation nodes and report Macro-F1, Micro-F1 and one-vs-rest AUC on the test nodes; clustering
quality is k-means NMI and ARI against the labels (:func:`cl_core.evaluation.clustering_scores`).
Here the classifier is scikit-learn's L2 logistic regression on standardised embeddings, with the
inverse regularisation chosen from a small grid by validation Macro-F1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

INVERSE_REGULARIZATION_GRID = (0.01, 0.1, 1.0, 10.0)
CLASSIFICATION_METRICS = ("macro_f1", "micro_f1", "auc")


def classification_scores(
    embeddings: np.ndarray,
    labels: np.ndarray,
    split: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    grid: Sequence[float] = INVERSE_REGULARIZATION_GRID,
) -> dict[str, float]:
    """Macro-F1, Micro-F1 and AUC (x100) of a logistic regression selected on the validation nodes.

    Args:
        embeddings: (N, D) node embeddings.
        labels: (N,) integer labels.
        split: (train, val, test) node indices.
        grid: candidate values of scikit-learn's ``C``.

    Returns:
        ``{"macro_f1", "micro_f1", "auc"}`` in percent.

    Example:
        >>> x = np.r_[np.zeros((10, 2)), np.ones((10, 2))] + np.random.rand(20, 2) * 0.1
        >>> y = np.r_[np.zeros(10, int), np.ones(10, int)]
        >>> idx = np.arange(20)
        >>> classification_scores(x, y, (idx[::2], idx[1::4], idx[3::4]))["micro_f1"]
        100.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    if embeddings.ndim != 2 or labels.shape != (embeddings.shape[0],):
        raise ValueError(
            f"embeddings must be (N, D) and labels (N,), got {embeddings.shape} and {labels.shape}"
        )
    if not grid:
        raise ValueError("grid must hold at least one value of C")
    train, val, test = split
    classes = np.unique(labels[train])
    if classes.size < 2:
        raise ValueError(f"the training split must hold at least 2 classes, got {classes.size}")
    best, best_score = None, -1.0
    for inverse_regularization in grid:
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=inverse_regularization, max_iter=2000)
        )
        model.fit(embeddings[train], labels[train])
        score = f1_score(labels[val], model.predict(embeddings[val]), average="macro")
        if score > best_score:
            best, best_score = model, score
    predicted = best.predict(embeddings[test])
    probabilities = best.predict_proba(embeddings[test])
    if classes.size == 2:
        auc = roc_auc_score(labels[test], probabilities[:, 1])
    else:
        auc = roc_auc_score(labels[test], probabilities, multi_class="ovr", labels=classes)
    return {
        "macro_f1": 100.0 * float(f1_score(labels[test], predicted, average="macro")),
        "micro_f1": 100.0 * float(f1_score(labels[test], predicted, average="micro")),
        "auc": 100.0 * float(auc),
    }


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

    scores: dict[str, float] = {}
    for size, split in sorted(splits.items()):
        for key, value in classification_scores(embeddings, labels, split).items():
            scores[f"{key}@{size}"] = value
    num_classes = int(np.unique(labels).size)
    clusters = clustering_scores(embeddings, labels, num_classes, seed=seed)
    scores["nmi"] = 100.0 * clusters["nmi"]
    scores["ari"] = 100.0 * clusters["ari"]
    return scores


def summarize(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean and standard deviation over runs: ``key`` -> mean and ``key_std`` -> std."""
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
    for metric in CLASSIFICATION_METRICS:
        for size in sizes:
            key = f"{metric}@{size}"
            cells = " | ".join(cell(rows[m], key) for m in methods)
            lines.append(f"| {names[metric]} | {size} | {cells} |")
    for metric in ("nmi", "ari"):
        cells = " | ".join(cell(rows[m], metric) for m in methods)
        lines.append(f"| {metric.upper()} | - | {cells} |")
    return "\n".join(lines)
