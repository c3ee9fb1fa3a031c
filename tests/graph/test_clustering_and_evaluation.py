"""k-means runs with PCL concentrations, and the node-classification / clustering protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cl_graph.clustering import run_kmeans
from cl_graph.evaluation import classification_scores, evaluate_embeddings, format_table, summarize


def blobs(per_class=20, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=6.0, size=(classes, 4))
    labels = np.repeat(np.arange(classes), per_class)
    return centers[labels] + rng.normal(size=(labels.size, 4)), labels


def test_run_kmeans_shapes_and_concentration_mean():
    points, _ = blobs()
    runs = run_kmeans(torch.from_numpy(points).float(), [3, 5], temperature=0.4)
    assert runs.assignments.shape == (2, 60)
    assert [c.shape for c in runs.centroids] == [(3, 4), (5, 4)]
    for centroids, phi in zip(runs.centroids, runs.concentrations, strict=True):
        torch.testing.assert_close(centroids.norm(dim=1), torch.ones(centroids.shape[0]))
        assert phi.mean().item() == pytest.approx(0.4, rel=1e-5)
        assert bool((phi > 0).all())


def test_run_kmeans_recovers_separated_blobs():
    points, labels = blobs()
    runs = run_kmeans(torch.from_numpy(points).float(), [3], temperature=0.5)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(labels, runs.assignments[0].numpy()) == pytest.approx(1.0)


def test_run_kmeans_rejects_too_many_clusters():
    with pytest.raises(ValueError, match="cluster_counts must lie in"):
        run_kmeans(torch.randn(5, 2), [6], temperature=0.5)
    with pytest.raises(ValueError, match="temperature"):
        run_kmeans(torch.randn(5, 2), [2], temperature=0.0)


def split_of(labels, per_class=5):
    order = np.arange(labels.size)
    train = np.concatenate([order[labels == c][:per_class] for c in np.unique(labels)])
    rest = np.setdiff1d(order, train)
    return train, rest[::2], rest[1::2]


def test_classification_scores_separable_vs_noise():
    points, labels = blobs()
    split = split_of(labels)
    good = classification_scores(points, labels, split)
    assert good["macro_f1"] == pytest.approx(100.0) and good["auc"] == pytest.approx(100.0)
    noise = np.random.default_rng(1).normal(size=points.shape)
    bad = classification_scores(noise, labels, split)
    assert bad["macro_f1"] < 80.0


def test_classification_scores_reject_bad_shapes():
    with pytest.raises(ValueError, match="embeddings must be"):
        classification_scores(np.zeros((4, 2)), np.zeros(3, int), (np.arange(2),) * 3)


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
