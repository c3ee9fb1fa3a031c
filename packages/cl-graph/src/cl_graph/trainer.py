"""Full-batch training of MEOW, AdaMEOW and the cross-view baseline on any :class:`HeteroGraph`.

One optimisation step per epoch on the whole graph, with a fresh k-means clustering of the fine
view every epoch (MEOW). Model selection is either the authors' (``select_on="loss"``: early
stopping on the training loss with ``patience``, the lowest-loss epoch's embeddings returned) or
on labelled validation nodes (``select_on="validation"``: every ``eval_every`` epochs a logistic
regression on the training nodes is scored by Macro-F1 on the validation nodes, training stops
after ``patience`` epochs without a better score and the best-scoring epoch's embeddings are
returned; the test nodes are never looked at). This is a plain PyTorch loop rather than
``cl_core.training``: an epoch is a single full-graph step with non-differentiable NumPy k-means in
the middle, so a Lightning ``Trainer`` adds its start-up and per-step overhead without data
loading, distribution or checkpointing work to do.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import torch

from cl_graph.data.graph import HeteroGraph
from cl_graph.prepared import PreparedGraph, prepare_graph

Method = Literal["meow", "adameow", "baseline"]
METHODS: tuple[str, ...] = ("meow", "adameow", "baseline")
SELECTIONS: tuple[str, ...] = ("loss", "validation")


@dataclass
class GraphTrainConfig:
    """Hyper-parameters (defaults: MEOW's ACM settings).

    Attributes:
        method: ``"meow"``, ``"adameow"`` or ``"baseline"`` (HeCo-style positives).
        epochs: maximum number of epochs (one full-graph step each).
        patience: stop after this many epochs without a lower loss (or better validation score).
        select_on: ``"loss"`` (the authors' early stopping) or ``"validation"`` (needs the
            ``validation`` argument of :func:`train_graph`).
        eval_every: epochs between validation scores when ``select_on="validation"``.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        hidden_dim: width of projected node features.
        embed_dim: embedding width.
        dropout: dropout rate.
        temperature: InfoNCE temperature :math:`\\tau`.
        feature_mask_rate: fraction of target input entries zeroed in the masked fine copies.
        edge_drop_rates: per meta-path edge-drop rate (None: 0.2 for every meta-path).
        cluster_counts: k-means cluster counts of MEOW's K runs.
        proto_weight: :math:`\\lambda_{proto}`.
        anchor_batch_size: anchors per step (None: every node); candidates are always all nodes.
        top_k: meta-path name -> PathSim top-k sparsification.
        seed: random seed.
    """

    method: Method = "meow"
    epochs: int = 300
    patience: int = 20
    select_on: Literal["loss", "validation"] = "loss"
    eval_every: int = 5
    lr: float = 7e-4
    weight_decay: float = 0.0
    hidden_dim: int = 64
    embed_dim: int = 64
    dropout: float = 0.2
    temperature: float = 0.4
    feature_mask_rate: float = 0.3
    edge_drop_rates: list[float] | None = None
    cluster_counts: list[int] = field(default_factory=lambda: [100, 300])
    proto_weight: float = 1.0
    anchor_batch_size: int | None = None
    top_k: dict[str, int] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.select_on not in SELECTIONS:
            raise ValueError(f"select_on must be one of {SELECTIONS}, got {self.select_on!r}")
        for name in ("epochs", "patience", "eval_every", "hidden_dim", "embed_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not self.lr > 0 or not self.temperature > 0:
            raise ValueError(f"lr and temperature must be > 0, got {self.lr}, {self.temperature}")
        if not 0.0 <= self.feature_mask_rate < 1.0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("feature_mask_rate and dropout must lie in [0, 1)")
        if self.method == "meow" and not self.cluster_counts:
            raise ValueError("cluster_counts must list at least one k-means size for meow")
        if self.anchor_batch_size is not None and self.anchor_batch_size < 1:
            raise ValueError(
                f"anchor_batch_size must be >= 1 or None, got {self.anchor_batch_size}"
            )


@dataclass
class GraphTrainResult:
    """Embeddings and training record of one run.

    Attributes:
        embeddings: (N, embed_dim) float32 fused fine embeddings of the selected epoch.
        losses: training loss per epoch.
        best_epoch: the selected epoch (0-based).
        train_time_s: wall time of the training loop, validation scoring included.
        attention: semantic-attention weights of the 2P fine embeddings.
        config: the :class:`GraphTrainConfig` as a dict.
        validation_scores: (epoch, validation Macro-F1 in [0, 1]) pairs; empty for ``"loss"``.
    """

    embeddings: np.ndarray
    losses: list[float]
    best_epoch: int
    train_time_s: float
    attention: list[float]
    config: dict
    validation_scores: list[tuple[int, float]] = field(default_factory=list)


@dataclass(frozen=True)
class ValidationNodes:
    """Labelled nodes for ``select_on="validation"``: a probe fits ``train`` and scores ``val``.

    Attributes:
        labels: (N,) integer labels of the target nodes.
        train: indices of the probe's training nodes.
        val: indices of the validation nodes.
    """

    labels: np.ndarray
    train: np.ndarray
    val: np.ndarray


def train_graph(
    graph: HeteroGraph | PreparedGraph,
    config: GraphTrainConfig | None = None,
    *,
    on_epoch: Callable[[int, float], None] | None = None,
    validation: ValidationNodes | None = None,
) -> GraphTrainResult:
    """Train the meta-path views with ``config.method`` and return the fused fine embeddings.

    Args:
        graph: a :class:`HeteroGraph` (prepared here) or a :class:`PreparedGraph`.
        config: hyper-parameters; default :class:`GraphTrainConfig`.
        on_epoch: called with (epoch, loss) after every epoch (progress logging).
        validation: labelled nodes for ``config.select_on == "validation"``.

    Returns:
        :class:`GraphTrainResult` with (N, embed_dim) float32 embeddings of the best epoch.

    Example:
        >>> result = train_graph(graph, GraphTrainConfig(epochs=50))  # doctest: +SKIP
        >>> result.embeddings.shape  # doctest: +SKIP
        (4019, 64)
    """
    import sklearn.cluster  # noqa: F401  (import before the clock starts)

    from cl_core.losses import cluster_prototypes, proto_nce
    from cl_core.mining import kmeans_assignments
    from cl_graph.losses import (
        NegativeWeightNet,
        adaptive_weighted_info_nce,
        cross_view_info_nce,
        meow_info_nce,
    )
    from cl_graph.model import MetaPathViews

    config = config or GraphTrainConfig()
    prepared = (
        graph if isinstance(graph, PreparedGraph) else prepare_graph(graph, top_k=config.top_k)
    )
    num_paths = len(prepared.adjacencies)
    rates = config.edge_drop_rates if config.edge_drop_rates is not None else [0.2] * num_paths
    if len(rates) != num_paths:
        raise ValueError(
            f"edge_drop_rates must give one rate per meta-path ({num_paths}), got {len(rates)}"
        )
    if config.method == "meow" and max(config.cluster_counts) > prepared.num_targets:
        raise ValueError(
            f"cluster_counts must not exceed the number of nodes ({prepared.num_targets}), got "
            f"{config.cluster_counts}"
        )
    if config.select_on == "validation" and validation is None:
        raise ValueError('select_on="validation" needs the validation argument (ValidationNodes)')
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = MetaPathViews(
        prepared, hidden_dim=config.hidden_dim, embed_dim=config.embed_dim, dropout=config.dropout
    )
    weight_net = NegativeWeightNet(config.embed_dim) if config.method == "adameow" else None
    parameters = list(model.parameters()) + (list(weight_net.parameters()) if weight_net else [])
    optimizer = torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)

    losses: list[float] = []
    scores: list[tuple[int, float]] = []
    best_value, best_epoch, best_state, waited = float("inf"), 0, None, 0
    start = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        optimizer.zero_grad()
        views = model(prepared, feature_mask_rate=config.feature_mask_rate, edge_drop_rates=rates)
        anchors = _anchor_index(prepared.num_targets, config.anchor_batch_size, generator)
        coarse, fine = views["coarse_projected"], views["fine_projected"]
        if config.method == "meow":
            assignments = kmeans_assignments(
                fine, config.cluster_counts, seed=config.seed + epoch * len(config.cluster_counts)
            )
            loss = meow_info_nce(
                coarse[anchors],
                fine,
                assignments,
                temperature=config.temperature,
                anchor_index=anchors,
            )
            if config.proto_weight > 0:
                prototypes = [
                    cluster_prototypes(fine, row, temperature=config.temperature)
                    for row in assignments
                ]
                loss = loss + config.proto_weight * proto_nce(
                    coarse,
                    [p.centroids for p in prototypes],
                    [p.concentrations for p in prototypes],
                    assignments,
                )
        elif config.method == "adameow":
            loss = adaptive_weighted_info_nce(
                fine[anchors],
                coarse,
                weight_net,
                temperature=config.temperature,
                anchor_index=anchors,
            )
        else:
            loss = cross_view_info_nce(
                coarse, fine, prepared.positives, temperature=config.temperature
            )
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        losses.append(value)
        if on_epoch is not None:
            on_epoch(epoch, value)
        if config.select_on == "validation":
            if (epoch + 1) % config.eval_every and epoch + 1 < config.epochs:
                continue
            score = _validation_macro_f1(model, prepared, validation)
            scores.append((epoch, score))
            value, step = -score, config.eval_every
        else:
            step = 1
        if value < best_value:
            best_value, best_epoch, waited = value, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += step
            if waited >= config.patience:
                break
    train_time = time.perf_counter() - start
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        views = model(prepared)
    return GraphTrainResult(
        embeddings=views["fine"].numpy().astype(np.float32),
        losses=losses,
        best_epoch=best_epoch,
        train_time_s=train_time,
        attention=[float(w) for w in views["attention"]],
        config=asdict(config),
        validation_scores=scores,
    )


def _validation_macro_f1(
    model: torch.nn.Module, prepared: PreparedGraph, validation: ValidationNodes
) -> float:
    """Macro-F1 on the validation nodes of a probe fit on the training nodes (eval-mode views)."""
    from cl_core.evaluation import linear_probe_scores

    model.eval()
    with torch.no_grad():
        embeddings = model(prepared)["fine"].numpy()
    model.train()
    split = (validation.train, validation.val, validation.val)
    return linear_probe_scores(embeddings, validation.labels, split)["macro_f1"]


def _anchor_index(
    num_nodes: int, batch_size: int | None, generator: torch.Generator
) -> torch.Tensor:
    """All nodes, or a random subset of ``batch_size`` of them."""
    if batch_size is None or batch_size >= num_nodes:
        return torch.arange(num_nodes)
    return torch.randperm(num_nodes, generator=generator)[:batch_size]
