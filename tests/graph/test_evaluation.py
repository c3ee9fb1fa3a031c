"""The HeCo/MEOW node-classification and clustering protocol on synthesized blobs."""

from __future__ import annotations

import numpy as np
import pytest

from cl_graph.evaluation import (
    classification_scores_x100,
    evaluate_embeddings,
    format_table,
    summarize,
)


def blobs(per_class=20, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=6.0, size=(classes, 4))
    labels = np.repeat(np.arange(classes), per_class)
    return centers[labels] + rng.normal(size=(labels.size, 4)), labels


def split_of(labels, per_class=5):
    order = np.arange(labels.size)
    train = np.concatenate([order[labels == c][:per_class] for c in np.unique(labels)])
    rest = np.setdiff1d(order, train)
    return train, rest[::2], rest[1::2]


def test_classification_scores_are_percent_per_split():
    points, labels = blobs()
    scores = classification_scores_x100(
        points, labels, {5: split_of(labels), 3: split_of(labels, 3)}
    )
    assert set(scores) == {f"{m}@{s}" for m in ("macro_f1", "micro_f1", "auc") for s in (3, 5)}
    assert scores["macro_f1@5"] == pytest.approx(100.0) and scores["auc@5"] == pytest.approx(100.0)
    noise = np.random.default_rng(1).normal(size=points.shape)
    assert classification_scores_x100(noise, labels, {5: split_of(labels)})["macro_f1@5"] < 80.0


def test_evaluate_summarize_and_table():
    points, labels = blobs()
    scores = evaluate_embeddings(points, labels, {5: split_of(labels)})
    assert set(scores) == {"macro_f1@5", "micro_f1@5", "auc@5", "nmi", "ari"}
    assert scores["nmi"] == pytest.approx(100.0)
    summary = summarize([{"a": 1.0}, {"a": 3.0}])
    assert summary == {"a": 2.0, "a_std": 1.0}
    table = format_table({"MEOW": {"macro_f1@20": 90.0, "macro_f1@20_std": 0.5}})
    assert "| Ma-F1 | 20 | 90.00±0.50 |" in table
    assert "| NMI | - | - |" in table


def test_summarize_rejects_no_runs():
    with pytest.raises(ValueError, match="at least one"):
        summarize([])
