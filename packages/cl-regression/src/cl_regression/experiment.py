"""Run the compared methods on one table and regime over several seeds; aggregate mean and std.

Hyper-parameters are chosen on validation data only: when a method has several candidate
configurations, each is trained on 80% of that seed's training rows and scored by MAE on the
other 20%; the winner is retrained on all training rows and only then sees the test rows.
Candidates that differ only in the penalty of a final linear probe share one trained encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from cl_regression.data.regimes import Regime, make_regime_split
from cl_regression.data.tables import RegressionTable
from cl_regression.evaluation import distance_spearman, regional_mae
from cl_regression.training import (
    CONTRASTIVE_METHODS,
    METHODS,
    TrainConfig,
    TrainedRegressor,
    fit_regressor,
)


@dataclass(frozen=True)
class ExperimentSpec:
    """One dataset/regime cell of the benchmark.

    Attributes:
        regime: ``"standard"``, ``"imbalanced"``, ``"few_shot"`` or ``"transfer"``.
        target: evaluated target column (None: the table's default).
        pretrain_target: transfer only: the column the encoder is pre-trained on.
        drop: further columns left out of the features.
        split: keyword arguments of :func:`cl_regression.data.make_regime_split`.
    """

    regime: Regime
    target: str | None = None
    pretrain_target: str | None = None
    drop: tuple[str, ...] = ()
    split: dict[str, float | int] = field(default_factory=dict)


@dataclass
class ExperimentResult:
    """Per method: metric name -> mean over seeds, plus ``<name>_std``; and the rows trained on."""

    metrics: dict[str, dict[str, float]]
    num_train: int
    num_test: int


def run_experiment(
    table: RegressionTable,
    spec: ExperimentSpec,
    *,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    config: TrainConfig | None = None,
    candidates: Mapping[str, Sequence[TrainConfig]] | None = None,
    validation_fraction: float = 0.2,
) -> ExperimentResult:
    """Train and evaluate every method on ``table`` under ``spec`` for each seed.

    Metrics per seed: ``mae`` and ``mae_many``/``mae_medium``/``mae_few`` (test MAE in target units,
    regions from the training-label density), ``spearman`` (embedding distance vs label distance on
    the test rows), ``train_time_s`` and ``samples_per_s``; with candidates also ``val_mae`` (the
    winner's validation MAE) and ``selected`` (its index). The split depends on the seed.

    Args:
        table: the data.
        spec: regime, target columns and split options.
        methods: methods to run, a subset of ``METHODS``.
        seeds: one run per seed (split, initialisation, views).
        config: the configuration of methods without candidates (default :class:`TrainConfig`).
        candidates: per method, configurations to choose from on the validation rows.
        validation_fraction: share of each seed's training rows held out for that choice.

    Returns:
        An :class:`ExperimentResult`; a region metric is averaged over the seeds where it exists.
    """
    unknown = [method for method in methods if method not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}, got {list(methods)}")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie in (0, 1), got {validation_fraction}")
    candidates = dict(candidates or {})
    empty = [method for method, configs in candidates.items() if not configs]
    if empty:
        raise ValueError(
            f"candidates must hold at least one config per method, got none for {empty}"
        )
    target = spec.target or table.target
    extra_drop = (spec.pretrain_target,) if spec.pretrain_target else ()
    features, targets = table.arrays(target, drop=(*spec.drop, *extra_drop))
    pretrain = None
    if spec.pretrain_target is not None:
        pretrain = table.frame[spec.pretrain_target].to_numpy(dtype=np.float64)
    per_seed: dict[str, list[dict[str, float]]] = {method: [] for method in methods}
    num_train = num_test = 0
    for seed in seeds:
        split = make_regime_split(targets, spec.regime, seed=seed, **spec.split)
        train, test = split.train_index, split.test_index
        num_train, num_test = len(train), len(test)
        fit_targets = targets if pretrain is None else pretrain
        for method in methods:
            chosen, selection = config, {}
            options = candidates.get(method, ())
            if len(options) > 1:
                chosen, selection = _select_on_validation(
                    method,
                    options,
                    features,
                    fit_targets,
                    targets,
                    pretrain,
                    train,
                    validation_fraction,
                    seed,
                )
            elif options:
                chosen = options[0]
            fitted = fit_regressor(
                method,
                features[train],
                fit_targets[train],
                config=chosen,
                seed=seed,
                probe_targets=None if pretrain is None else targets[train],
            )
            scores = regional_mae(fitted.predict(features[test]), targets[test], targets[train])
            scores.update(selection)
            scores["spearman"] = distance_spearman(
                fitted.embed(features[test]), targets[test], seed=seed
            )
            scores["train_time_s"] = fitted.train_time_s
            scores["samples_per_s"] = fitted.samples_seen / max(fitted.train_time_s, 1e-9)
            per_seed[method].append(scores)
    return ExperimentResult(
        metrics={method: _aggregate(runs) for method, runs in per_seed.items()},
        num_train=num_train,
        num_test=num_test,
    )


def _select_on_validation(
    method: str,
    options: Sequence[TrainConfig],
    features: np.ndarray,
    fit_targets: np.ndarray,
    targets: np.ndarray,
    pretrain: np.ndarray | None,
    train: np.ndarray,
    validation_fraction: float,
    seed: int,
) -> tuple[TrainConfig, dict[str, float]]:
    """The option with the lowest MAE on a held-out part of the training rows, and its score."""
    shuffled = np.random.default_rng(seed + 7919).permutation(train)
    num_validation = max(1, round(validation_fraction * len(train)))
    validation, inner = shuffled[:num_validation], shuffled[num_validation:]
    scores = []
    trained: dict[TrainConfig, TrainedRegressor] = {}
    for option in options:
        probe_last = option.protocol == "linear" and (
            method in CONTRASTIVE_METHODS or pretrain is not None
        )
        key = replace(option, probe_alpha=0.0) if probe_last else option
        if key not in trained:
            trained[key] = fit_regressor(
                method,
                features[inner],
                fit_targets[inner],
                config=key,
                seed=seed,
                probe_targets=None if pretrain is None else targets[inner],
            )
        fitted = trained[key]
        if key != option:
            fitted = fitted.with_probe(features[inner], targets[inner], option.probe_alpha)
        errors = np.abs(fitted.predict(features[validation]) - targets[validation])
        scores.append(float(errors.mean()))
    best = int(np.argmin(scores))
    return options[best], {"val_mae": scores[best], "selected": float(best)}


def _aggregate(runs: list[dict[str, float]]) -> dict[str, float]:
    """Mean and (population) std over seeds of every metric present in at least one run."""
    names = sorted({name for run in runs for name in run})
    summary: dict[str, float] = {}
    for name in names:
        values = np.array([run[name] for run in runs if name in run])
        summary[name] = float(values.mean())
        summary[f"{name}_std"] = float(values.std())
    return summary
