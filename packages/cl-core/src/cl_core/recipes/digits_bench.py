"""``cl-bench`` run functions of the core recipes: SimCLR, DCL and SupCon on scikit-learn digits.

Each row reports kNN and linear-probe accuracy of the frozen encoder features on the held-out 30%,
next to two baselines measured in the same run: a probe on the raw pixels and a probe on the same
encoder at its random initialisation. Every linear probe chooses its ``C`` by stratified CV on the
training features only (:func:`cl_core.evaluation.frozen_probe_scores`, reported as ``linear_c``).
``effective_rank`` is that of the test features.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from cl_core.evaluation import frozen_probe_scores
from cl_core.evaluation.memo import cached_frozen_probe_scores
from cl_core.recipes.core_methods import build_module, train_method
from cl_core.recipes.digits_data import FeatureSplit, load_digits_split
from cl_core.registry import BenchContext, BenchResult
from cl_core.threads import cpu_threads


@dataclass(frozen=True)
class ProfileSettings:
    epochs: int
    seeds: int


PROFILES = {
    "smoke": ProfileSettings(epochs=1, seeds=1),
    "quick": ProfileSettings(epochs=40, seeds=1),
    "full": ProfileSettings(epochs=200, seeds=3),
}
BATCH_SIZE = 128
ENCODER = "MLP 64-256-128 (+2-layer head 256-64)"


#: Per-seed choices from a grid (the probe's C), summarised by their median rather than a mean.
GRID_CHOICES = frozenset({"linear_c"})


def _mean(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        name: (statistics.median if name in GRID_CHOICES else statistics.fmean)(
            run[name] for run in runs
        )
        for name in runs[0]
    }


def _with_spread(runs: list[dict[str, float]]) -> dict[str, float]:
    summary = _mean(runs)
    if len(runs) > 1:
        for name in runs[0]:
            if name not in GRID_CHOICES:
                summary[f"{name}_std"] = statistics.stdev(run[name] for run in runs)
    return summary


def run_digits(method: str, context: BenchContext) -> BenchResult:
    """Train ``method`` per seed, probe frozen features, and measure both baselines.

    Runs on one thread for torch and for the probes' BLAS (:func:`cl_core.threads.cpu_threads`).
    """
    if context.dataset != "digits":
        raise ValueError(f"core recipes run on 'digits', got dataset {context.dataset!r}")
    with cpu_threads(1):
        return _run_digits(method, context)


def digits_baselines(
    method: str, split: FeatureSplit, seed: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Probes of the random-init encoder of ``method`` and of the raw pixels of ``split``.

    Both are memoised on their exact features (:func:`cl_core.evaluation.memo
    .cached_frozen_probe_scores`): the three core rows build the same seeded encoder and probe
    the same split, so the probes run once per process and every row still reports them.
    """
    untrained = build_module(method, split, lr=1e-3, seed=seed)
    random_init = cached_frozen_probe_scores(
        untrained.encode(split.train_x),
        split.train_y,
        untrained.encode(split.test_x),
        split.test_y,
    )
    pixels = cached_frozen_probe_scores(split.train_x, split.train_y, split.test_x, split.test_y)
    return random_init, pixels


def _run_digits(method: str, context: BenchContext) -> BenchResult:
    settings = PROFILES.get(context.profile, PROFILES["quick"])
    method_runs, random_runs, pixel_runs = [], [], []
    train_time = samples = 0.0
    for offset in range(settings.seeds):
        seed = context.seed + offset
        split = load_digits_split(seed)
        run = train_method(
            method,
            split,
            context.out_dir / f"core-{method}-seed{seed}",
            epochs=settings.epochs,
            batch_size=BATCH_SIZE,
            seed=seed,
            tensorboard=False,
        )
        train_time += run.train_time_s
        samples += run.samples_seen
        method_runs.append(
            frozen_probe_scores(
                run.module.encode(split.train_x),
                split.train_y,
                run.module.encode(split.test_x),
                split.test_y,
            )
        )
        random_init, pixels = digits_baselines(method, split, seed)
        random_runs.append(random_init)
        pixel_runs.append(pixels)
    return BenchResult(
        method=method,
        modality="core",
        dataset="digits",
        data_kind="real",
        encoder=ENCODER,
        epochs=settings.epochs,
        metrics=_with_spread(method_runs),
        baselines={"random-init encoder": _mean(random_runs), "raw pixels": _mean(pixel_runs)},
        train_time_s=train_time,
        samples_per_s=samples / train_time if train_time > 0 else 0.0,
        notes=f"{settings.seeds} seed(s), batch {BATCH_SIZE}, 1 CPU thread (torch and BLAS)",
    )


def run_simclr(context: BenchContext) -> BenchResult:
    """SimCLR (NT-Xent, tau 0.5) on digits."""
    return run_digits("simclr", context)


def run_dcl(context: BenchContext) -> BenchResult:
    """DCL (tau 0.1) on digits."""
    return run_digits("dcl", context)


def run_supcon(context: BenchContext) -> BenchResult:
    """SupCon (tau 0.1, labels) on digits."""
    return run_digits("supcon", context)
