"""Run functions of the cl-bench recipes: strength-aware and contrastive reward heads vs BT.

Every row trains the Bradley-Terry baseline in the same run (on the same split, features and
noisy labels); rows on ``hh-harmless-flip30`` also train BT on the clean labels (``bt-clean``)
and report ``recovered``, the share of the accuracy lost to the flips that the method wins back.
All recipes on one data set share one experiment (features, split, strength ensemble), computed
once per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

from cl_core.registry import BenchContext, BenchResult
from cl_rlhf.bench import DATASETS
from cl_rlhf.data import load_hh_harmless
from cl_rlhf.encoding import cached_text_features
from cl_rlhf.experiment import CLEAN_BASELINE, NoiseExperiment, run_noise_experiment
from cl_rlhf.methods import METHODS
from cl_rlhf.training import HeadTrainConfig

_FLIPS = {"hh-harmless": 0.0, "hh-harmless-flip30": 0.3}
#: quick: 300 pairs (the first of the file) so that encoding + all rows stay near two minutes.
_PROFILES = {
    "quick": {"max_pairs": 300, "seeds": 1, "ensemble_size": 4, "epochs": 15},
    "full": {"max_pairs": None, "seeds": 3, "ensemble_size": 10, "epochs": 20},
}
ENCODER = "all-MiniLM-L6-v2 (frozen, mean-pooled, last 128 tokens) + MLP 384-256-1"


def run_flip(ctx: BenchContext) -> BenchResult:
    """Label flipping of negative-strength pairs vs BT."""
    return _row("flip", ctx)


def run_smooth(ctx: BenchContext) -> BenchResult:
    """Soft labels for negative-strength pairs vs BT."""
    return _row("smooth", ctx)


def run_margin(ctx: BenchContext) -> BenchResult:
    """Adaptive margin (ensemble strength inside the sigmoid) vs BT."""
    return _row("margin", ctx)


def run_contrastive(ctx: BenchContext) -> BenchResult:
    """BT + SimCSE auxiliary on the head's hidden layer vs BT."""
    return _row("contrastive", ctx)


def _row(method: str, ctx: BenchContext) -> BenchResult:
    if ctx.dataset not in _FLIPS:
        raise ValueError(f"dataset must be one of {tuple(_FLIPS)}, got {ctx.dataset!r}")
    if ctx.data_dir is None:
        raise ValueError("the rlhf recipes need --data-dir (the folder holding hh-rlhf/)")
    settings = _PROFILES[ctx.profile]
    results, num_train = _experiment(
        ctx.dataset, ctx.profile, ctx.seed, Path(ctx.data_dir), Path(ctx.out_dir)
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
            f"strength ensemble M={settings['ensemble_size']}; features cached once (encoding "
            "time not in train_time_s)."
        ),
    )


@functools.cache
def _experiment(
    dataset: str, profile: str, seed: int, data_dir: Path, out_dir: Path
) -> tuple[dict[str, dict[str, float]], int]:
    settings = _PROFILES[profile]
    pairs = load_hh_harmless(data_dir, limit=settings["max_pairs"])
    features = cached_text_features(
        list(pairs.chosen) + list(pairs.rejected), out_dir / "rlhf-feature-cache"
    )
    experiment = NoiseExperiment(
        flip_fraction=_FLIPS[dataset],
        split_seed=seed,
        seeds=tuple(seed + offset for offset in range(settings["seeds"])),
        ensemble_size=settings["ensemble_size"],
        head=HeadTrainConfig(epochs=settings["epochs"]),
    )
    results = run_noise_experiment(
        features[: len(pairs)], features[len(pairs) :], METHODS, experiment
    )
    num_train = len(pairs) - round(0.2 * len(pairs)) - round(0.1 * len(pairs))
    return results, num_train
