"""The full-batch trainer on a user-supplied synthetic HeteroData with meta-path definitions."""

from __future__ import annotations

import numpy as np
import pytest

from cl_core.evaluation import linear_probe_scores
from cl_graph.prepared import prepare_graph
from cl_graph.trainer import GraphTrainConfig, ValidationNodes, train_graph

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:FutureWarning")


@pytest.fixture(scope="module")
def prepared(synthetic_graph):
    return prepare_graph(synthetic_graph)


def test_prepare_derives_adjacency_contexts_and_positives(prepared, synthetic_graph):
    assert prepared.metapath_names == ["PAP", "PSP"]
    assert [len(hops) for hops in prepared.contexts] == [1, 1]
    assert tuple(prepared.mean_adjacency.shape) == (90, 90)
    assert bool(prepared.positives.diagonal().all())
    assert int(prepared.positives.sum(dim=1).max()) <= 5
    dense = prepared.adjacencies[0].to_dense()
    assert np.allclose(dense.numpy(), dense.numpy().T, atol=1e-6)


@pytest.mark.parametrize("method", ["meow", "adameow", "baseline"])
def test_every_method_trains_and_returns_finite_embeddings(prepared, method):
    config = GraphTrainConfig(
        method=method, epochs=4, patience=10, cluster_counts=[4, 8], anchor_batch_size=40
    )
    seen = []
    result = train_graph(prepared, config, on_epoch=lambda epoch, loss: seen.append((epoch, loss)))
    assert seen == list(enumerate(result.losses))
    assert result.embeddings.shape == (90, 64)
    assert np.isfinite(result.embeddings).all()
    assert len(result.losses) == 4 and all(np.isfinite(result.losses))
    assert sum(result.attention) == pytest.approx(1.0, rel=1e-5)


def test_meow_loss_decreases_and_embeddings_carry_class_signal(prepared, synthetic_graph):
    config = GraphTrainConfig(
        method="meow", epochs=25, patience=25, cluster_counts=[6, 12], lr=5e-3
    )
    result = train_graph(prepared, config)
    assert min(result.losses[-5:]) < result.losses[0]
    scores = linear_probe_scores(
        result.embeddings, synthetic_graph.labels, synthetic_graph.splits[5]
    )
    assert scores["macro_f1"] > 0.6


def test_early_stopping_stops_before_the_epoch_cap(prepared):
    result = train_graph(
        prepared, GraphTrainConfig(method="baseline", epochs=60, patience=1, lr=0.5)
    )
    assert len(result.losses) < 60


def test_validation_selection_scores_every_eval_and_returns_the_best_epoch(
    prepared, synthetic_graph
):
    train, val, _ = synthetic_graph.splits[5]
    nodes = ValidationNodes(synthetic_graph.labels, train, val)
    config = GraphTrainConfig(
        method="baseline", epochs=12, patience=100, select_on="validation", eval_every=4, lr=5e-3
    )
    result = train_graph(prepared, config, validation=nodes)
    assert [epoch for epoch, _ in result.validation_scores] == [3, 7, 11]
    _, best_score = max(result.validation_scores, key=lambda pair: pair[1])
    assert result.best_epoch == min(e for e, s in result.validation_scores if s == best_score)
    from cl_core.evaluation import linear_probe_scores

    rescored = linear_probe_scores(result.embeddings, synthetic_graph.labels, (train, val, val))
    assert rescored["macro_f1"] == pytest.approx(best_score)


def test_validation_selection_stops_after_patience_epochs_without_gain(prepared, synthetic_graph):
    train, val, _ = synthetic_graph.splits[5]
    nodes = ValidationNodes(synthetic_graph.labels, train, val)
    config = GraphTrainConfig(
        method="baseline", epochs=200, patience=2, select_on="validation", eval_every=2, lr=1e-6
    )
    result = train_graph(prepared, config, validation=nodes)
    assert len(result.losses) < 200
    with pytest.raises(ValueError, match="needs the validation argument"):
        train_graph(prepared, config)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("method", "simclr", "method must be one of"),
        ("epochs", 0, "epochs must be an integer"),
        ("temperature", 0.0, "temperature must be > 0"),
        ("feature_mask_rate", 1.0, "feature_mask_rate"),
        ("select_on", "test", "select_on must be one of"),
        ("eval_every", 0, "eval_every must be an integer"),
    ],
)
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        GraphTrainConfig(**{field: value})


def test_trainer_rejects_too_many_clusters_and_wrong_drop_rates(prepared):
    with pytest.raises(ValueError, match="cluster_counts must not exceed"):
        train_graph(prepared, GraphTrainConfig(cluster_counts=[500]))
    with pytest.raises(ValueError, match="edge_drop_rates"):
        train_graph(prepared, GraphTrainConfig(edge_drop_rates=[0.1]))
