"""Run functions of the cl-bench recipes: SupReMix against L1, L2, SupCon and Rank-N-Contrast.

In the full profile every method chooses between four configurations on validation rows (a part
of each seed's training rows, never the test rows; see :mod:`cl_regression.experiment`): the
contrastive methods between a linear L1 regressor on frozen features (three probe penalties) and
L1 fine-tuning after pre-training (the two protocols of SupReMix, arXiv:2309.16633), the
end-to-end L1/L2 baselines between two learning rates times two weight decays; every candidate
gets the same number of epochs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cl_core.registry import BenchContext, BenchResult
from cl_regression.bench import DATASETS
from cl_regression.data.regimes import Regime
from cl_regression.data.rotated_images import load_rotated_fashion_mnist_table
from cl_regression.data.tables import (
    RegressionTable,
    load_diabetes_table,
    load_diamonds_table,
    load_randhie_table,
)
from cl_regression.encoder import EncoderKind
from cl_regression.experiment import ExperimentResult, ExperimentSpec, run_experiment
from cl_regression.training import (
    CONTRASTIVE_METHODS,
    DEFAULT_TEMPERATURE,
    TrainConfig,
)

BASELINES = ("l1", "l2", "supcon", "rnc")


@dataclass(frozen=True)
class _Cell:
    """One benchmark row: its data, regime, encoder and compared baselines."""

    load: Callable[[int], RegressionTable]
    regime: Regime
    split: dict[str, float]
    pretrain_target: str | None = None
    encoder: EncoderKind = "mlp"
    baselines: tuple[str, ...] = BASELINES


def _table(loader: Callable[[], RegressionTable]) -> Callable[[int], RegressionTable]:
    return lambda _num_images: loader()


_CELLS: dict[str, _Cell] = {
    "diabetes": _Cell(_table(load_diabetes_table), "standard", {}),
    "diabetes-fewshot": _Cell(_table(load_diabetes_table), "few_shot", {"few_shot_size": 100}),
    "randhie-imbalanced": _Cell(
        _table(load_randhie_table), "imbalanced", {"imbalance_ratio": 20.0}
    ),
    "randhie-fewshot": _Cell(_table(load_randhie_table), "few_shot", {"few_shot_size": 200}),
    "diamonds-imbalanced": _Cell(
        _table(load_diamonds_table), "imbalanced", {"imbalance_ratio": 50.0}
    ),
    "diamonds-fewshot": _Cell(_table(load_diamonds_table), "few_shot", {"few_shot_size": 200}),
    "diamonds-transfer": _Cell(_table(load_diamonds_table), "transfer", {}, "carat"),
    "rotated-fashion-mnist": _Cell(
        lambda num_images: load_rotated_fashion_mnist_table(num_images),
        "standard",
        {},
        encoder="cnn",
        baselines=("l1", "supcon"),
    ),
}

#: quick: small caps so that its rows together take a few minutes on 2 cores; full: 3 seeds with
#: validation-based selection, sized to finish on a shared 2-core machine; smoke: a sanity run.
#: ``images`` / ``image_epochs`` size the rotated Fashion-MNIST row; ``select``: choose each
#: method's configuration on validation rows.
_PROFILE_SETTINGS = {
    "smoke": {
        "seeds": 1, "epochs": 1, "max_train": 100, "max_test": 100,
        "images": 200, "image_epochs": 1, "select": False,
    },
    "quick": {
        "seeds": 2, "epochs": 10, "max_train": 600, "max_test": 600,
        "images": 1000, "image_epochs": 3, "select": False,
    },
    "full": {
        "seeds": 3, "epochs": 20, "max_train": 1500, "max_test": 2000,
        "images": 1500, "image_epochs": 6, "select": True,
    },
}  # fmt: skip


#: L1 penalties of the linear probe the contrastive methods choose from (0: unpenalised).
PROBE_ALPHAS = (0.0, 1e-3, 1e-2)
#: weight decays the end-to-end L1/L2 baselines choose from (the default and a strong one).
END_TO_END_WEIGHT_DECAYS = (1e-4, 1e-2)


def candidate_configs(base: TrainConfig) -> dict[str, tuple[TrainConfig, ...]]:
    """The four configurations each method chooses from on validation rows, all with
    ``base.epochs`` epochs in total.

    Contrastive methods: an exact linear L1 regressor on frozen features with each penalty of
    ``PROBE_ALPHAS``, or fine-tuning for the last quarter of the epochs. L1/L2: learning rate
    ``base.learning_rate`` or three times it, times each weight decay of
    ``END_TO_END_WEIGHT_DECAYS``.
    """
    tuned = max(1, base.epochs // 4)
    contrastive = (
        *(replace(base, protocol="linear", probe_alpha=alpha) for alpha in PROBE_ALPHAS),
        replace(base, epochs=base.epochs - tuned, protocol="finetune", finetune_epochs=tuned),
    )
    end_to_end = tuple(
        replace(base, protocol="linear", learning_rate=rate, weight_decay=decay)
        for rate in (base.learning_rate, 3 * base.learning_rate)
        for decay in END_TO_END_WEIGHT_DECAYS
    )
    return {
        method: contrastive if method in CONTRASTIVE_METHODS else end_to_end
        for method in ("supremix", *BASELINES)
    }


@dataclass(frozen=True)
class CellRun:
    """What :func:`run_cell` trained: the per-method results, the base configuration, the spec
    and the seeds."""

    result: ExperimentResult
    config: TrainConfig
    spec: ExperimentSpec
    seeds: tuple[int, ...]
    methods: tuple[str, ...]


def run_cell(
    dataset: str,
    profile: str,
    seeds: Sequence[int],
    *,
    num_images: int | None = None,
    image_epochs: int | None = None,
    methods: Sequence[str] | None = None,
) -> CellRun:
    """Run SupReMix and the row's baselines on one benchmark row with a profile's settings.

    Args:
        dataset: a row of ``DATASETS`` (e.g. ``"diamonds-fewshot"``).
        profile: ``"smoke"``, ``"quick"`` or ``"full"`` (sizes, epochs, validation-based choice).
        seeds: one run per seed.
        num_images: rotated Fashion-MNIST only: images instead of the profile's (80% train).
        image_epochs: rotated Fashion-MNIST only: epochs instead of the profile's.
        methods: methods to run (default: SupReMix and the row's baselines).

    Returns:
        A :class:`CellRun`.
    """
    if dataset not in _CELLS:
        raise ValueError(f"dataset must be one of {tuple(_CELLS)}, got {dataset!r}")
    if profile not in _PROFILE_SETTINGS:
        raise ValueError(f"profile must be one of {tuple(_PROFILE_SETTINGS)}, got {profile!r}")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    settings = _PROFILE_SETTINGS[profile]
    cell = _CELLS[dataset]
    images = cell.encoder == "cnn"
    if not images and (num_images is not None or image_epochs is not None):
        raise ValueError(f"num_images / image_epochs apply to image rows only, not {dataset!r}")
    split = {"max_train": settings["max_train"], "max_test": settings["max_test"], **cell.split}
    if images and num_images is not None:
        split["max_train"] = max(split["max_train"], round(0.8 * num_images))
    spec = ExperimentSpec(cell.regime, pretrain_target=cell.pretrain_target, split=split)
    epochs = (image_epochs or settings["image_epochs"]) if images else settings["epochs"]
    config = TrainConfig(epochs=epochs, encoder=cell.encoder)
    methods = tuple(methods) if methods is not None else ("supremix", *cell.baselines)
    seeds = tuple(seeds)
    result = run_experiment(
        cell.load(num_images or settings["images"]),
        spec,
        methods=methods,
        seeds=seeds,
        config=config,
        candidates=candidate_configs(config) if settings["select"] else None,
    )
    return CellRun(result=result, config=config, spec=spec, seeds=seeds, methods=methods)


def run_supremix(ctx: BenchContext) -> BenchResult:
    """Run SupReMix and its baselines on ``ctx.dataset`` and return one benchmark row."""
    if ctx.profile not in _PROFILE_SETTINGS:
        raise ValueError(f"profile must be one of {tuple(_PROFILE_SETTINGS)}, got {ctx.profile!r}")
    settings = _PROFILE_SETTINGS[ctx.profile]
    seeds = tuple(ctx.seed + offset for offset in range(settings["seeds"]))
    run = run_cell(ctx.dataset, ctx.profile, seeds)
    result, config, spec, methods = run.result, run.config, run.spec, run.methods
    cell = _CELLS[ctx.dataset]
    images = cell.encoder == "cnn"
    ours = result.metrics["supremix"]
    dataset = next(dataset for dataset in DATASETS if dataset.name == ctx.dataset)
    widths = "-".join(map(str, (*config.hidden, config.embedding_dim)))
    encoder = f"CNN 16-32-{config.hidden[-1]}-{config.embedding_dim}" if images else f"MLP {widths}"
    protocol = (
        "each method's configuration chosen on validation rows (contrastive: linear L1 "
        f"regressor on frozen features with probe penalty in {PROBE_ALPHAS} vs. L1 fine-tuning; "
        "l1/l2: learning rate x weight decay)"
        if settings["select"]
        else "contrastive methods: exact linear L1 regressor on frozen features; l1/l2: end-to-end"
    )
    row = BenchResult(
        method="supremix",
        modality="regression",
        dataset=ctx.dataset,
        data_kind=dataset.kind,
        encoder=encoder,
        epochs=float(config.epochs),
        metrics=_quality(ours),
        baselines={name: _quality(result.metrics[name]) for name in cell.baselines},
        train_time_s=ours["train_time_s"],
        samples_per_s=ours["samples_per_s"],
        notes=(
            f"{dataset.card} Regime {spec.regime}; {result.num_train} train / {result.num_test} "
            f"test rows; mean (and _std) over seeds {list(seeds)}; {protocol}; "
            f"{config.num_bins} {config.binning} label bins (SupReMix, SupCon), "
            f"{config.num_negative_mixtures} anchor-inclusive + {config.num_positive_mixtures} "
            "anchor-exclusive mixtures per anchor (SupReMix); temperature / batch size: "
            + ", ".join(
                f"{name} {DEFAULT_TEMPERATURE.get(name, '-')} / {config.batch_size_for(name)}"
                for name in methods
            )
            + "."
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
