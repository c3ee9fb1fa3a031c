"""Run functions of the cl-bench recipes: SupReMix against L1, L2, SupCon and Rank-N-Contrast."""

from __future__ import annotations

import json
from collections.abc import Callable

from cl_core.registry import BenchContext, BenchResult
from cl_regression.bench import DATASETS
from cl_regression.data.tables import (
    RegressionTable,
    load_diabetes_table,
    load_diamonds_table,
    load_randhie_table,
)
from cl_regression.experiment import ExperimentSpec, run_experiment
from cl_regression.training import TrainConfig

BASELINES = ("l1", "l2", "supcon", "rnc")

_CELLS: dict[str, tuple[Callable[[], RegressionTable], ExperimentSpec]] = {
    "diabetes": (load_diabetes_table, ExperimentSpec("standard")),
    "diabetes-fewshot": (
        load_diabetes_table,
        ExperimentSpec("few_shot", split={"few_shot_size": 100}),
    ),
    "randhie-imbalanced": (
        load_randhie_table,
        ExperimentSpec("imbalanced", split={"imbalance_ratio": 20.0}),
    ),
    "randhie-fewshot": (
        load_randhie_table,
        ExperimentSpec("few_shot", split={"few_shot_size": 200}),
    ),
    "diamonds-imbalanced": (
        load_diamonds_table,
        ExperimentSpec("imbalanced", split={"imbalance_ratio": 50.0}),
    ),
    "diamonds-fewshot": (
        load_diamonds_table,
        ExperimentSpec("few_shot", split={"few_shot_size": 200}),
    ),
    "diamonds-transfer": (
        load_diamonds_table,
        ExperimentSpec("transfer", pretrain_target="carat"),
    ),
}

#: quick: small caps so that its rows together take about a minute on 2 cores; smoke: a sanity run.
_PROFILE_SETTINGS = {
    "smoke": {"seeds": 1, "epochs": 1, "max_train": 100, "max_test": 100},
    "quick": {"seeds": 2, "epochs": 10, "max_train": 600, "max_test": 600},
    "full": {"seeds": 3, "epochs": 40, "max_train": 4000, "max_test": 4000},
}


def run_supremix(ctx: BenchContext) -> BenchResult:
    """Run SupReMix and its baselines on ``ctx.dataset`` and return one benchmark row."""
    if ctx.dataset not in _CELLS:
        raise ValueError(f"dataset must be one of {tuple(_CELLS)}, got {ctx.dataset!r}")
    if ctx.profile not in _PROFILE_SETTINGS:
        raise ValueError(f"profile must be one of {tuple(_PROFILE_SETTINGS)}, got {ctx.profile!r}")
    settings = _PROFILE_SETTINGS[ctx.profile]
    load_table, spec = _CELLS[ctx.dataset]
    split = {"max_train": settings["max_train"], "max_test": settings["max_test"], **spec.split}
    spec = ExperimentSpec(spec.regime, spec.target, spec.pretrain_target, spec.drop, split)
    config = TrainConfig(epochs=settings["epochs"])
    seeds = tuple(ctx.seed + offset for offset in range(settings["seeds"]))
    result = run_experiment(
        load_table(), spec, methods=("supremix", *BASELINES), seeds=seeds, config=config
    )
    ours = result.metrics["supremix"]
    card = next(dataset.card for dataset in DATASETS if dataset.name == ctx.dataset)
    row = BenchResult(
        method="supremix",
        modality="regression",
        dataset=ctx.dataset,
        data_kind="real",
        encoder=f"MLP {'-'.join(map(str, config.hidden))}-{config.embedding_dim}",
        epochs=float(config.epochs),
        metrics=_quality(ours),
        baselines={name: _quality(result.metrics[name]) for name in BASELINES},
        train_time_s=ours["train_time_s"],
        samples_per_s=ours["samples_per_s"],
        notes=(
            f"{card} Regime {spec.regime}; {result.num_train} train / {result.num_test} test rows; "
            f"mean (and _std) over seeds {list(seeds)}. Contrastive methods: linear L1 probe on "
            "frozen features; l1/l2: end-to-end."
        ),
    )
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    (ctx.out_dir / f"regression-{ctx.dataset}.json").write_text(
        json.dumps({"profile": ctx.profile, "metrics": result.metrics}, indent=2)
    )
    return row


def _quality(metrics: dict[str, float]) -> dict[str, float]:
    """The quality metrics of a method (timings are reported on the row itself)."""
    return {
        name: value
        for name, value in metrics.items()
        if not name.startswith(("train_time_s", "samples_per_s"))
    }
