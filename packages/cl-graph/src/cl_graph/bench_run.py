"""Run functions of the cl-bench recipes: train on a HeCo graph, evaluate, report next to a
features-only logistic regression measured in the same run."""

from __future__ import annotations

from typing import Any

from cl_core.registry import BenchContext, BenchResult

#: Per profile: training seeds, epoch cap, patience and model selection. Quick and full choose the
#: epoch by validation Macro-F1 (20 labels per class, scored every 5 epochs; test nodes unseen);
#: the full profile's cap keeps three ACM seeds within about 15 minutes on 2 idle cores. Smoke is
#: a sanity run whose numbers mean nothing.
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"seeds": (0,), "epochs": 2, "patience": 2},
    "quick": {"seeds": (0,), "epochs": 40, "patience": 40, "select_on": "validation"},
    "full": {
        "seeds": (0, 1, 2),
        "epochs": 100,
        "patience": 30,
        "select_on": "validation",
    },
}


def run_meow(context: BenchContext) -> BenchResult:
    """MEOW (cluster-weighted InfoNCE + ProtoNCE)."""
    return run_graph_recipe(context, "meow")


def run_adameow(context: BenchContext) -> BenchResult:
    """AdaMEOW (learned negative weights)."""
    return run_graph_recipe(context, "adameow")


def run_cross_view_baseline(context: BenchContext) -> BenchResult:
    """HeCo-style cross-view InfoNCE with ``pos.npz`` positives on the same views."""
    return run_graph_recipe(context, "baseline")


def run_graph_recipe(
    context: BenchContext, method: str, *, overrides: dict[str, Any] | None = None
) -> BenchResult:
    """Train ``method`` on ``context.dataset`` with the profile's budget and evaluate it.

    Args:
        context: the bench context (its ``data_dir``, when given, is searched for
            ``heco/<dataset>`` by the source chain).
        method: ``"meow"``, ``"adameow"`` or ``"baseline"``.
        overrides: extra :class:`~cl_graph.trainer.GraphTrainConfig` fields (tests use tiny ones);
            a ``"seeds"`` entry replaces the profile's seeds.
    """
    from cl_graph.data import load_heco
    from cl_graph.experiment import config_for, feature_baseline, run_experiment

    budget = dict(PROFILES[context.profile])
    overrides = dict(overrides or {})
    profile_seeds = budget.pop("seeds")
    seeds = tuple(context.seed + s for s in overrides.pop("seeds", profile_seeds))
    graph = load_heco(context.dataset, context.data_dir)
    config = config_for(context.dataset, method=method, **{**budget, **overrides})
    result = run_experiment(graph, config, seeds=seeds)
    epochs = sum(len(run.losses) for run in result.runs) / len(result.runs)
    node_steps = graph.num_targets * sum(len(run.losses) for run in result.runs)
    return BenchResult(
        method={"baseline": "heco-cross-view"}.get(method, method),
        modality="graph",
        dataset=context.dataset,
        data_kind="real",
        encoder="meta-path GCN (2 layers) + context aggregation + semantic attention, 64-d",
        epochs=epochs,
        metrics=result.summary,
        baselines={"features-logreg": feature_baseline(graph)},
        train_time_s=result.train_time_s,
        samples_per_s=node_steps / max(result.train_time_s, 1e-9),
        notes=(
            f"{graph.card} Scores x100, mean and _std over seeds {list(seeds)}; full-batch, "
            f"at most {config.epochs} epochs, {_selection_note(config)}."
        ),
    )


def _selection_note(config: Any) -> str:
    """How the reported epoch was chosen, for the notes of a row."""
    if config.select_on == "validation":
        return (
            f"epoch chosen by validation Macro-F1 every {config.eval_every} epochs "
            f"(patience {config.patience} epochs; test nodes unseen)"
        )
    return f"early stopping on the training loss (patience {config.patience})"
