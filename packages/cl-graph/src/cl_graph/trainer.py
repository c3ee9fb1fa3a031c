"""Full-graph training of MEOW, AdaMEOW and the cross-view baseline on any :class:`HeteroGraph`.

One optimisation step per epoch on the whole graph, with a fresh k-means clustering of the fine
view every epoch (MEOW). Model selection is either the authors' (``select_on="loss"``: early
stopping on the training loss with ``patience``, the lowest-loss epoch's embeddings returned) or
on labelled validation nodes (``select_on="validation"``: every ``eval_every`` epochs a logistic
regression on the training nodes is scored by Macro-F1 on the validation nodes, training stops
after ``patience`` epochs without a better score and the best-scoring epoch's embeddings are
returned; the test nodes are never looked at).

The kernel's engine (:func:`cl_core.training.fit_objective`, a Lightning ``Trainer``) runs the
optimisation: its loader yields the whole graph once per epoch, the objective is the method's
loss on it, and two callbacks carry what is specific to full-graph training: the epoch selection
(the early stop and the best epoch's weights, kept in memory) and the random streams (dropout,
feature masks and edge drops continue from the model's initialisation under ``config.seed``, and
the anchor sampler has its own generator), both saved in checkpoints so ``resume`` is exact.

One process only: there is one graph and one full-graph "batch" per step, so data-parallel
training has nothing to shard (W processes would each compute the same full-graph loss), and
:func:`train_graph` refuses ``devices``/``num_nodes`` above 1 and any ``strategy``. Under
``bf16-mixed`` the encoder runs in bfloat16 while the sparse adjacency products
(:func:`~cl_graph.sparse_ops.sparse_matmul`) and the losses stay in float32; the ``*-true``
precisions other than ``32-true`` are refused (see :data:`cl_graph.cli.PRECISIONS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor, nn

from cl_core.engine_options import DEFAULT_ENGINE, EngineOptions
from cl_graph.cli import PRECISIONS
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
    engine: EngineOptions = DEFAULT_ENGINE,
    out_dir: str | Path | None = None,
) -> GraphTrainResult:
    """Train the meta-path views with ``config.method`` and return the fused fine embeddings.

    Args:
        graph: a :class:`HeteroGraph` (prepared here) or a :class:`PreparedGraph`.
        config: hyper-parameters; default :class:`GraphTrainConfig`.
        on_epoch: called with (epoch, loss) after every epoch (progress logging).
        validation: labelled nodes for ``config.select_on == "validation"``.
        engine: accelerator, precision, checkpointing and resume (one process; its seed is
            ``config.seed``).
        out_dir: run folder for the engine's logs and checkpoints (``None``: nothing written).

    Returns:
        :class:`GraphTrainResult` with (N, embed_dim) float32 embeddings of the best epoch.

    Raises:
        ValueError: bad settings for this graph, or ``engine`` asks for several processes.

    Example:
        >>> result = train_graph(graph, GraphTrainConfig(epochs=50))  # doctest: +SKIP
        >>> result.embeddings.shape  # doctest: +SKIP
        (4019, 64)
    """
    import sklearn.cluster  # noqa: F401  (import before the clock starts)

    from cl_core.training import fit_objective
    from cl_graph.losses import NegativeWeightNet
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
    engine = single_process_engine(engine).with_changes(seed=config.seed)
    torch.manual_seed(config.seed)
    model = _Trained(
        MetaPathViews(
            prepared,
            hidden_dim=config.hidden_dim,
            embed_dim=config.embed_dim,
            dropout=config.dropout,
        ),
        NegativeWeightNet(config.embed_dim) if config.method == "adameow" else None,
    )
    streams = _RandomStreams(torch.get_rng_state(), torch.Generator().manual_seed(config.seed))
    selection = _EpochSelection(config, prepared, validation, on_epoch)
    objective = _objective(config, rates, streams, selection)
    fit = fit_objective(
        model,
        objective,
        _FullGraphLoader(prepared),
        epochs=config.epochs,
        optimizer=lambda groups: torch.optim.Adam(
            groups, lr=config.lr, weight_decay=config.weight_decay
        ),
        lr=config.lr,
        engine=engine,
        out_dir=out_dir,
        callbacks=[streams, selection],
    )
    views_model = model.views.cpu()
    views_model.load_state_dict(selection.best_state)
    views_model.eval()
    with torch.no_grad():
        views = views_model(prepared)
    return GraphTrainResult(
        embeddings=views["fine"].numpy().astype(np.float32),
        losses=selection.losses,
        best_epoch=selection.best_epoch,
        train_time_s=fit.train_time_s,
        attention=[float(w) for w in views["attention"]],
        config=asdict(config),
        validation_scores=selection.scores,
    )


def single_process_engine(engine: EngineOptions) -> EngineOptions:
    """``engine`` pinned to one device; several processes, a strategy or a ``*-true`` precision
    other than ``32-true`` are refused.

    Raises:
        ValueError: ``devices`` or ``num_nodes`` above 1, a ``strategy`` other than auto, or a
            precision outside :data:`cl_graph.cli.PRECISIONS`.
    """
    if engine.precision not in PRECISIONS:
        raise ValueError(
            f"graph training runs precision {', '.join(PRECISIONS)} (the graph's features and "
            f"sparse matrices stay float32); got {engine.precision!r}"
        )
    devices = 1 if engine.devices == "auto" else engine.devices
    if devices != 1 or engine.num_nodes != 1 or engine.strategy != "auto":
        raise ValueError(
            "full-graph training runs one process on one device (each step's batch is the whole "
            f"graph, there is nothing to shard); got devices={engine.devices!r}, "
            f"num_nodes={engine.num_nodes}, strategy={engine.strategy!r}"
        )
    return engine.with_changes(devices=1)


class _Trained(nn.Module):
    """The trained parameters: the meta-path views and AdaMEOW's weight network (if any)."""

    def __init__(self, views: nn.Module, weight_net: nn.Module | None) -> None:
        super().__init__()
        self.views = views
        self.weight_net = weight_net


class _FullGraphLoader:
    """The engine's loader: the whole prepared graph, once per epoch."""

    def __init__(self, prepared: PreparedGraph) -> None:
        self.prepared = prepared

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[PreparedGraph]:
        yield self.prepared


def _objective(
    config: GraphTrainConfig,
    rates: list[float],
    streams: _RandomStreams,
    selection: _EpochSelection,
) -> Callable[[nn.Module, PreparedGraph], Tensor]:
    """The method's full-graph loss of one epoch, ``(model, graph) -> loss``.

    Under mixed precision the encoder runs in the low precision and the loss in float32
    (autocast off, projected views upcast), so the loss that early stopping compares is exact.
    """

    def objective(model: nn.Module, prepared: PreparedGraph) -> Tensor:
        views = model.views(
            prepared, feature_mask_rate=config.feature_mask_rate, edge_drop_rates=rates
        )
        coarse, fine = views["coarse_projected"], views["fine_projected"]
        anchors = _anchor_index(
            prepared.num_targets, config.anchor_batch_size, streams.anchor_generator
        ).to(fine.device)
        with torch.autocast(fine.device.type, enabled=False):
            return _method_loss(
                config, model, prepared, coarse.float(), fine.float(), anchors, selection.epoch
            )

    return objective


def _method_loss(
    config: GraphTrainConfig,
    model: nn.Module,
    prepared: PreparedGraph,
    coarse: Tensor,
    fine: Tensor,
    anchors: Tensor,
    epoch: int,
) -> Tensor:
    """MEOW, AdaMEOW or cross-view loss of the projected views (MEOW re-clusters every epoch)."""
    from cl_core.losses import cluster_prototypes, proto_nce
    from cl_core.mining import kmeans_assignments
    from cl_graph.losses import adaptive_weighted_info_nce, cross_view_info_nce, meow_info_nce

    if config.method == "adameow":
        return adaptive_weighted_info_nce(
            fine[anchors],
            coarse,
            model.weight_net,
            temperature=config.temperature,
            anchor_index=anchors,
        )
    if config.method == "baseline":
        return cross_view_info_nce(coarse, fine, prepared.positives, temperature=config.temperature)
    assignments = kmeans_assignments(
        fine, config.cluster_counts, seed=config.seed + epoch * len(config.cluster_counts)
    )
    loss = meow_info_nce(
        coarse[anchors], fine, assignments, temperature=config.temperature, anchor_index=anchors
    )
    if config.proto_weight > 0:
        prototypes = [
            cluster_prototypes(fine, row, temperature=config.temperature) for row in assignments
        ]
        loss = loss + config.proto_weight * proto_nce(
            coarse,
            [p.centroids for p in prototypes],
            [p.concentrations for p in prototypes],
            assignments,
        )
    return loss


class _RandomStreams(Callback):
    """Continue the random streams of the model's initialisation, and checkpoint them.

    The engine seeds every run afresh; restoring the torch state captured after the model was
    built keeps dropout, feature masks and edge drops on the stream ``config.seed`` started (so
    runs match those of the loop this engine replaced), and saving it with the anchor sampler's
    generator makes a resumed run continue exactly.
    """

    def __init__(self, torch_state: Tensor, anchor_generator: torch.Generator) -> None:
        self.torch_state = torch_state
        self.anchor_generator = anchor_generator

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        torch.set_rng_state(self.torch_state)

    def state_dict(self) -> dict[str, Any]:
        return {"torch": torch.get_rng_state(), "anchors": self.anchor_generator.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.torch_state = state_dict["torch"]
        self.anchor_generator.set_state(state_dict["anchors"])


class _EpochSelection(Callback):
    """Early stopping with ``patience`` and the best epoch's weights, on the loss or validation.

    ``select_on="loss"``: an epoch improves when its loss is below the best so far, and training
    stops after ``patience`` epochs without improvement. ``select_on="validation"``: every
    ``eval_every`` epochs (and after the last) the validation Macro-F1 is scored; a higher score
    improves, and each scoring without improvement counts ``eval_every`` epochs of patience.
    """

    def __init__(
        self,
        config: GraphTrainConfig,
        prepared: PreparedGraph,
        validation: ValidationNodes | None,
        on_epoch: Callable[[int, float], None] | None,
    ) -> None:
        self.config = config
        self.prepared = prepared
        self.validation = validation
        self.on_epoch = on_epoch
        self.epoch = 0
        self.losses: list[float] = []
        self.scores: list[tuple[int, float]] = []
        self.best_value = float("inf")
        self.best_epoch = 0
        self.best_state: dict[str, Tensor] = {}
        self.waited = 0

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.epoch = trainer.current_epoch

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        config, epoch = self.config, self.epoch
        value = float(trainer.callback_metrics["train/loss"])
        self.losses.append(value)
        if self.on_epoch is not None:
            self.on_epoch(epoch, value)
        views = pl_module.model.views
        if config.select_on == "validation":
            if (epoch + 1) % config.eval_every and epoch + 1 < config.epochs:
                return
            score = _validation_macro_f1(views, self.prepared, self.validation)
            self.scores.append((epoch, score))
            value, step = -score, config.eval_every
        else:
            step = 1
        if value < self.best_value:
            self.best_value, self.best_epoch, self.waited = value, epoch, 0
            self.best_state = {
                name: tensor.detach().cpu().clone() for name, tensor in views.state_dict().items()
            }
        else:
            self.waited += step
            if self.waited >= config.patience:
                trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        # Copies: checkpoints are written on a background thread while training goes on.
        return {
            "losses": list(self.losses),
            "scores": list(self.scores),
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "best_state": dict(self.best_state),
            "waited": self.waited,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.losses = list(state_dict["losses"])
        self.scores = [tuple(pair) for pair in state_dict["scores"]]
        self.best_value = state_dict["best_value"]
        self.best_epoch = state_dict["best_epoch"]
        self.best_state = dict(state_dict["best_state"])
        self.waited = state_dict["waited"]


def _validation_macro_f1(
    model: torch.nn.Module, prepared: PreparedGraph, validation: ValidationNodes
) -> float:
    """Macro-F1 on the validation nodes of a probe fit on the training nodes (eval-mode views)."""
    from lightning.fabric.utilities.apply_func import move_data_to_device

    from cl_core.evaluation import linear_probe_scores

    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        embeddings = model(move_data_to_device(prepared, device))["fine"].float().cpu().numpy()
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
