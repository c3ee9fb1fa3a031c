"""Run functions of the cl-bench recipes.

- Label-noise rows (``rm-flip``, ``rm-smooth``, ``rm-margin``, ``rm-contrastive``, ``rm-swav``):
  every row trains the Bradley-Terry baseline in the same run (same split, features and noisy
  labels); rows on ``hh-harmless-flip30`` also train BT on the clean labels (``bt-clean``) and
  report ``recovered``, the share of the accuracy lost to the flips that the method wins back.
  All recipes on one data set share one experiment, computed once per process.
- ``rm-metarm``: MetaRM vs BT under a response-length shift (:mod:`cl_rlhf.shift_experiment`).
- ``sirl``: reward on similarity-query features vs on raw features, simulated gridworld.

Features: frozen all-MiniLM-L6-v2 on the final assistant response (:mod:`cl_rlhf.features`).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from cl_core.registry import BenchContext, BenchResult
from cl_rlhf.bench import DATASETS, GRIDWORLD, LENGTH_SHIFT

_FLIPS = {"hh-harmless": 0.0, "hh-harmless-flip30": 0.3}
_NOISE_METHODS = ("bt", "flip", "smooth", "margin", "contrastive", "swav")
# The strength-ensemble members train for "strength_epochs" (1): they detect the injected training
# flips with AUC 0.64, against 0.59 when they train as long as the final head (chosen on split
# seed 0 without the test pairs).
_PROFILES = {
    "smoke": {
        "max_pairs": 60,
        "seeds": 1,
        "ensemble_size": 2,
        "epochs": 2,
        "strength_epochs": 1,
        "sirl_queries": 300,
    },
    "quick": {
        "max_pairs": 600,
        "seeds": 1,
        "ensemble_size": 4,
        "epochs": 10,
        "strength_epochs": 1,
        "sirl_queries": 1500,
    },
    "full": {
        "max_pairs": None,
        "seeds": 3,
        "ensemble_size": 10,
        "epochs": 10,
        "strength_epochs": 1,
        "sirl_queries": 3000,
    },
}
#: flip / smooth treat the weakest 20% of training pairs by strength as mislabelled (the paper's
#: rule). Validation accuracy with the 1-epoch strength ensemble, split seeds 0 / 1: weakest 10%
#: 0.571 / 0.596, 20% 0.538 / 0.589, 30% 0.531 / 0.587, mu < 0 0.561 / 0.584 - all within the
#: +-0.03 noise of 231 validation pairs, so the paper's 20% is kept.
WEAKEST_FRACTION = 0.2
ENCODER = "all-MiniLM-L6-v2 (frozen, mean-pooled final response, 96 tokens) + MLP 384-256-1"


def run_flip(ctx: BenchContext) -> BenchResult:
    """Label flipping of negative-strength pairs vs BT."""
    return _noise_row("flip", ctx)


def run_smooth(ctx: BenchContext) -> BenchResult:
    """Soft labels for negative-strength pairs vs BT."""
    return _noise_row("smooth", ctx)


def run_margin(ctx: BenchContext) -> BenchResult:
    """Adaptive margin (ensemble strength inside the sigmoid) vs BT."""
    return _noise_row("margin", ctx)


def run_contrastive(ctx: BenchContext) -> BenchResult:
    """BT + SimCSE auxiliary on the head's hidden layer vs BT."""
    return _noise_row("contrastive", ctx)


def run_swav(ctx: BenchContext) -> BenchResult:
    """BT + SwAV auxiliary on the head's hidden layer vs BT."""
    return _noise_row("swav", ctx)


def _settings(ctx: BenchContext, names: tuple[str, ...]) -> dict:
    if ctx.dataset not in names:
        raise ValueError(f"dataset must be one of {names}, got {ctx.dataset!r}")
    return _PROFILES[ctx.profile]


def _need_data_dir(ctx: BenchContext) -> Path:
    if ctx.data_dir is None:
        raise ValueError("the rlhf recipes need --data-dir (the folder holding hh-rlhf/)")
    return Path(ctx.data_dir)


def _noise_row(method: str, ctx: BenchContext) -> BenchResult:
    from cl_rlhf.experiment import CLEAN_BASELINE

    settings = _settings(ctx, tuple(_FLIPS))
    results, num_train = _noise_experiment(
        ctx.dataset, ctx.profile, ctx.seed, _need_data_dir(ctx), Path(ctx.out_dir)
    )
    ours = results[method]
    baselines = {"bt": results["bt"]}
    if CLEAN_BASELINE in results:
        baselines[CLEAN_BASELINE] = results[CLEAN_BASELINE]
    card = next(dataset.card for dataset in DATASETS if dataset.name == ctx.dataset)
    return BenchResult(
        method=f"rm-{method}",
        modality="rlhf",
        dataset=ctx.dataset,
        data_kind="real",
        encoder=ENCODER,
        epochs=float(settings["epochs"]),
        metrics=ours,
        baselines=baselines,
        train_time_s=ours["train_time_s"],
        samples_per_s=num_train * settings["epochs"] / max(ours["train_time_s"], 1e-9),
        notes=(
            f"{card} Pairwise accuracy on clean test pairs, mean of {settings['seeds']} seed(s); "
            f"strength ensemble M={settings['ensemble_size']}, out of fold (2 folds per member), "
            f"{settings['strength_epochs']} epoch(s) per member; "
            f"flip/smooth act on the weakest {WEAKEST_FRACTION:.0%} of training pairs; "
            "features cached once (encoding time not in train_time_s)."
        ),
    )


def _hh_features(data_dir: Path, out_dir: Path, max_pairs: int | None):
    from cl_rlhf.data import load_hh_harmless
    from cl_rlhf.features import pair_features

    pairs = load_hh_harmless(data_dir, limit=max_pairs)
    chosen, rejected = pair_features(pairs, out_dir / "rlhf-feature-cache")
    return pairs, chosen, rejected


@functools.cache
def _noise_experiment(
    dataset: str, profile: str, seed: int, data_dir: Path, out_dir: Path
) -> tuple[dict[str, dict[str, float]], int]:
    from cl_rlhf.experiment import NoiseExperiment, run_noise_experiment
    from cl_rlhf.training import HeadTrainConfig

    settings = _PROFILES[profile]
    pairs, chosen, rejected = _hh_features(data_dir, out_dir, settings["max_pairs"])
    experiment = NoiseExperiment(
        flip_fraction=_FLIPS[dataset],
        split_seed=seed,
        seeds=tuple(seed + offset for offset in range(settings["seeds"])),
        ensemble_size=settings["ensemble_size"],
        weakest_fraction=WEAKEST_FRACTION,
        head=HeadTrainConfig(epochs=settings["epochs"]),
        strength_head=HeadTrainConfig(epochs=settings["strength_epochs"]),
    )
    results = run_noise_experiment(chosen, rejected, _NOISE_METHODS, experiment)
    num_train = len(pairs) - round(0.2 * len(pairs)) - round(0.1 * len(pairs))
    return results, num_train


def run_metarm(ctx: BenchContext) -> BenchResult:
    """MetaRM vs BT: trained on short-response pairs, tested on long-response pairs."""
    import torch

    from cl_rlhf.features import pair_texts
    from cl_rlhf.shift_experiment import ShiftExperiment, run_length_shift_experiment
    from cl_rlhf.training import HeadTrainConfig

    settings = _settings(ctx, (LENGTH_SHIFT.name,))
    pairs, chosen, rejected = _hh_features(
        _need_data_dir(ctx), Path(ctx.out_dir), settings["max_pairs"]
    )
    lengths = torch.tensor(
        [max(len(a.split()), len(b.split())) for a, b in zip(*pair_texts(pairs), strict=True)],
        dtype=torch.float32,
    )
    experiment = ShiftExperiment(
        split_seed=ctx.seed,
        seeds=tuple(ctx.seed + offset for offset in range(settings["seeds"])),
        head=HeadTrainConfig(epochs=settings["epochs"]),
    )
    start = time.perf_counter()
    results = run_length_shift_experiment(chosen, rejected, lengths, experiment)
    elapsed = time.perf_counter() - start
    return BenchResult(
        method="rm-metarm",
        modality="rlhf",
        dataset=ctx.dataset,
        data_kind="real",
        encoder=ENCODER,
        epochs=float(settings["epochs"]),
        metrics=results["metarm"],
        baselines={"bt": results["bt"]},
        train_time_s=elapsed,
        samples_per_s=results["bt"]["num_train_pairs"]
        * settings["epochs"]
        * 2
        * len(experiment.seeds)
        / max(elapsed, 1e-9),
        notes=(
            f"{LENGTH_SHIFT.card} Mean of {settings['seeds']} seed(s); meta step: first-order, "
            "eta=0.1; train_time_s covers both methods."
        ),
    )


def run_sirl(ctx: BenchContext) -> BenchResult:
    """SIRL reward vs a reward on raw observations, with and without the spurious shift."""
    from cl_rlhf.sirl.experiment import SIRLExperiment, run_sirl_experiment

    settings = _settings(ctx, (GRIDWORLD.name,))
    experiment = SIRLExperiment(num_queries=settings["sirl_queries"], seed=ctx.seed)
    start = time.perf_counter()
    results = run_sirl_experiment(experiment)
    elapsed = time.perf_counter() - start
    return BenchResult(
        method="sirl",
        modality="rlhf",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder="MLP 40-64-8 from triplet similarity queries (SIRL) + MLP reward head",
        epochs=float(experiment.encoder_epochs),
        metrics=results["sirl"],
        baselines={"raw-features": results["raw"]},
        train_time_s=elapsed,
        samples_per_s=experiment.num_queries * experiment.encoder_epochs / max(elapsed, 1e-9),
        notes=(
            f"{GRIDWORLD.card} {experiment.num_queries} answered triplet queries, "
            f"{experiment.num_preferences} labelled preference pairs, "
            f"{experiment.num_test_pairs} test pairs per distribution; one seed."
        ),
    )
