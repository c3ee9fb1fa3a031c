"""``cl-bench`` run functions of the vision recipes (imported only when a row runs).

Each row trains one method, probes its frozen encoder (kNN, linear, effective rank) and, in the
same run, the raw pixels and the random-init encoder. Every linear probe chooses its ``C`` by
stratified CV on training features only (:func:`cl_core.evaluation.frozen_probe_scores`) and
reports it as ``linear_c``.
The full profile adds the issue's checks: SimCLR/DCL also train at batch 32 (``linear_acc_b32``,
``drop_b256_to_b32``; each at its own default temperature - the several-seed comparison at one
shared temperature is :mod:`cl_vision.batch_size_study`), MV-DHEL/MV-InfoNCE also train with
V = 2 and 3 views (``effective_rank_v{V}``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from cl_core.evaluation import CV_FOLDS, CV_SUBSAMPLE
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID
from cl_core.io import atomic_write_text
from cl_core.registry import BenchContext, BenchResult
from cl_core.threads import cpu_threads, torch_threads
from cl_vision.data import ImageSplit, load_image_split
from cl_vision.evaluation import (
    encoder_scores,
    frozen_encoder_scores,
    geometry_scores,
    raw_pixel_scores,
)
from cl_vision.full_profile_plots import (
    batch_size_points,
    plot_batch_sizes,
    plot_views,
    views_points,
)
from cl_vision.training import TrainConfig, build_module, train
from cl_vision.views import default_augmentation

ENCODER = "SmallResNet 32-64-128 + 2-layer head 128-128-64"
PROBE_NOTE = (
    f"linear probes (method and baselines): C from {DEFAULT_C_GRID} by {CV_FOLDS}-fold "
    f"stratified CV on <= {CV_SUBSAMPLE} training rows (linear_c), refit on all training rows"
)


@dataclass(frozen=True)
class RunSettings:
    """Size of a row's training."""

    epochs: int
    batch_size: int
    train_limit: int | None
    test_limit: int | None
    max_steps: int = -1
    temperatures: tuple[float, ...] = (0.07, 0.2, 0.5, 1.0)


SETTINGS: dict[tuple[str, str], RunSettings] = {
    ("smoke", "digits"): RunSettings(1, 32, 96, 100, max_steps=1, temperatures=(0.1, 1.0)),
    ("smoke", "fashion-mnist"): RunSettings(1, 32, 96, 100, max_steps=1, temperatures=(0.1, 1.0)),
    ("quick", "digits"): RunSettings(3, 128, None, None, temperatures=(0.1, 0.5, 1.0)),
    ("quick", "fashion-mnist"): RunSettings(2, 128, 4000, 2000, temperatures=(0.1, 0.5, 1.0)),
    ("full", "digits"): RunSettings(60, 128, None, None),
    ("full", "fashion-mnist"): RunSettings(10, 256, 20000, None),
}


def _settings(context: BenchContext) -> RunSettings:
    if context.dataset not in ("digits", "fashion-mnist"):
        raise ValueError(f"vision rows run on digits or fashion-mnist, got {context.dataset!r}")
    return SETTINGS[(context.profile, context.dataset)]


def _load(context: BenchContext, settings: RunSettings) -> ImageSplit:
    return load_image_split(
        context.dataset,
        data_dir=_fashion_dir(context),
        train_limit=settings.train_limit,
        test_limit=settings.test_limit,
        seed=context.seed,
    )


def _fashion_dir(context: BenchContext) -> Path | None:
    """``--data-dir``, searched for Fashion-MNIST by the source chain (directly or in
    ``fashion-mnist/``) after the Debian package and before the cache and the download."""
    return context.data_dir


def _train_and_score(
    config: TrainConfig,
    split: ImageSplit,
    out_dir: Path,
    settings: RunSettings,
    *,
    geometry: bool = False,
) -> tuple[dict[str, float], float, int]:
    run = train(
        config,
        split,
        out_dir,
        default_augmentation(split.name),
        progress_bar=False,
        max_steps=settings.max_steps,
    )
    scores = encoder_scores(run.module, split)
    if geometry:
        scores.update(geometry_scores(run.module, split))
    return scores, run.train_time_s, run.samples_seen


def _baselines(config: TrainConfig, split: ImageSplit) -> dict[str, dict[str, float]]:
    untrained = build_module(
        config, split.image_shape, split.num_classes, default_augmentation(split.name)
    )
    # Memoised on the exact features: the rows of one encoder share these probes in a run.
    return {
        "raw pixels": raw_pixel_scores(split, cached=True),
        "random-init encoder": encoder_scores(untrained, split, cached=True),
    }


def run_method(method: str, context: BenchContext) -> BenchResult:
    """Train ``method`` on the row's data set, probe it, and measure both baselines.

    Runs on one CPU thread, for torch and for the probes' BLAS (:func:`cl_core.threads
    .cpu_threads`): on a shared 2-core machine two intra-op threads per process made a step up to
    20x slower (measured under load), two BLAS threads made a CV probe ~30x costlier in CPU, and
    one thread is reproducible.
    """
    with cpu_threads(1):
        return _run_method(method, context)


def _run_method(method: str, context: BenchContext) -> BenchResult:
    settings = _settings(context)
    split = _load(context, settings)
    config = TrainConfig(
        method=method, epochs=settings.epochs, batch_size=settings.batch_size, seed=context.seed
    )
    out = context.out_dir / f"vision-{method}-{context.dataset}"
    metrics, train_time, samples = _train_and_score(config, split, out, settings)
    notes = [
        f"batch {config.batch_size}, V={config.views}, tau={config.tau}, 1 CPU thread",
        PROBE_NOTE,
    ]
    if context.profile == "full" and method in ("simclr", "dcl"):
        small = replace(config, batch_size=32)
        small_scores, extra_time, extra_samples = _train_and_score(
            small, split, out / "batch32", settings
        )
        metrics["linear_acc_b32"] = small_scores["linear_acc"]
        metrics["linear_c_b32"] = small_scores["linear_c"]
        metrics["drop_b256_to_b32"] = metrics["linear_acc"] - small_scores["linear_acc"]
        train_time += extra_time
        samples += extra_samples
        plot = plot_batch_sizes(
            {method: batch_size_points(metrics, config.batch_size)}, out / "batch_size.png"
        )
        notes.append(f"also trained at batch 32 (linear_acc_b32); plot: {plot}")
    if context.profile == "full" and method in ("mv-dhel", "mv-infonce"):
        metrics[f"effective_rank_v{config.views}"] = metrics["effective_rank"]
        for views in (2, 3):
            scores, extra_time, extra_samples = _train_and_score(
                replace(config, num_views=views), split, out / f"views{views}", settings
            )
            metrics[f"effective_rank_v{views}"] = scores["effective_rank"]
            metrics[f"linear_acc_v{views}"] = scores["linear_acc"]
            metrics[f"linear_c_v{views}"] = scores["linear_c"]
            train_time += extra_time
            samples += extra_samples
        plot = plot_views(views_points(metrics), out / "views.png", method)
        notes.append(f"also trained with V=2 and V=3 (effective_rank_v*); plot: {plot}")
    return BenchResult(
        method=method,
        modality="vision",
        dataset=context.dataset,
        data_kind="real",
        encoder=ENCODER,
        epochs=settings.epochs,
        metrics=metrics,
        baselines=_baselines(config, split),
        train_time_s=train_time,
        samples_per_s=samples / train_time if train_time > 0 else 0.0,
        notes="; ".join(notes) + f"; data: {split.card}",
    )


def run_temperature_sweep(context: BenchContext) -> BenchResult:
    """SimCLR at several temperatures, plus the hard-negative (top-K) loss at the largest one.

    ``linear_acc`` is NT-Xent's at ``tau_chosen_by_cv``, the temperature whose linear probe scores
    best in cross-validation on the training rows. Writes ``temperature_sweep.json`` and
    ``temperature_sweep.png`` into the row's folder.
    """
    with cpu_threads(1):
        return _run_temperature_sweep(context)


def _run_temperature_sweep(context: BenchContext) -> BenchResult:
    from cl_vision.temperature_study import plot_sweep, sweep_temperatures

    settings = _settings(context)
    split = _load(context, settings)
    out = context.out_dir / f"vision-temperature-sweep-{context.dataset}"
    started = time.perf_counter()
    rows = sweep_temperatures(
        split,
        out,
        temperatures=settings.temperatures,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        seed=context.seed,
        max_steps=settings.max_steps,
    )
    elapsed = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        out / "temperature_sweep.json",
        json.dumps({"data_card": split.card, "rows": rows}, indent=2),
    )
    plot_sweep(rows, out / "temperature_sweep.png")
    metrics: dict[str, float] = {}
    for row in rows:
        tag = f"{row['loss']}_tau{row['temperature']:g}"
        for name in ("linear_acc", "linear_c", "knn_acc", "uniformity", "tolerance"):
            metrics[f"{name}@{tag}"] = row[name]
    # The headline, comparable with the baselines' linear_acc: NT-Xent at the temperature its
    # probe's CV accuracy on the training rows ranks first (the test rows play no part).
    chosen = max(
        (row for row in rows if row["loss"] == "nt_xent"),
        key=lambda row: row.get("linear_cv_acc", float("-inf")),
    )
    metrics["linear_acc"] = chosen["linear_acc"]
    metrics["tau_chosen_by_cv"] = chosen["temperature"]
    config = TrainConfig(method="simclr", seed=context.seed)
    return BenchResult(
        method="temperature-sweep",
        modality="vision",
        dataset=context.dataset,
        data_kind="real",
        encoder=ENCODER,
        epochs=settings.epochs,
        metrics=metrics,
        baselines=_baselines(config, split),
        train_time_s=elapsed,
        samples_per_s=0.0,
        notes=f"plot: {out / 'temperature_sweep.png'}; {PROBE_NOTE}; data: {split.card}",
    )


def run_mcl(context: BenchContext) -> BenchResult:
    """MCL (2 stages of SimCLR, K=10): probes of the concatenated stage features and per stage."""
    with cpu_threads(1):
        return _run_mcl(context)


def _run_mcl(context: BenchContext) -> BenchResult:
    from cl_vision.mcl import train_mcl

    settings = _settings(context)
    split = _load(context, settings)
    config = TrainConfig(
        method="simclr", epochs=settings.epochs, batch_size=settings.batch_size, seed=context.seed
    )
    run = train_mcl(
        config,
        split,
        context.out_dir / f"vision-mcl-{context.dataset}",
        default_augmentation(split.name),
        num_stages=2,
        num_clusters=10,
        progress_bar=False,
        max_steps=settings.max_steps,
    )
    metrics = frozen_encoder_scores(run.encoder, split)
    for stage, module in enumerate(run.stages):
        metrics[f"linear_acc_stage{stage}"] = encoder_scores(module, split)["linear_acc"]
    return BenchResult(
        method="mcl",
        modality="vision",
        dataset=context.dataset,
        data_kind="real",
        encoder=f"2 x {ENCODER} (stage features concatenated)",
        epochs=settings.epochs * 2,
        metrics=metrics,
        baselines=_baselines(config, split),
        train_time_s=run.train_time_s,
        samples_per_s=run.samples_seen / run.train_time_s if run.train_time_s > 0 else 0.0,
        notes=(
            f"SimCLR stages, K=10 k-means clusters, 1 CPU thread; {PROBE_NOTE}; data: {split.card}"
        ),
    )


def run_simclr(context: BenchContext) -> BenchResult:
    return run_method("simclr", context)


def run_dcl(context: BenchContext) -> BenchResult:
    return run_method("dcl", context)


def run_dclw(context: BenchContext) -> BenchResult:
    return run_method("dclw", context)


def run_nnclr(context: BenchContext) -> BenchResult:
    return run_method("nnclr", context)


def run_nnclr_dcl(context: BenchContext) -> BenchResult:
    return run_method("nnclr-dcl", context)


def run_mv_infonce(context: BenchContext) -> BenchResult:
    return run_method("mv-infonce", context)


def run_mv_dhel(context: BenchContext) -> BenchResult:
    return run_method("mv-dhel", context)


def run_mv_pairwise(context: BenchContext) -> BenchResult:
    return run_method("mv-pairwise", context)


def run_hydra(context: BenchContext) -> BenchResult:
    return run_method("hydra", context)


def run_amcl(context: BenchContext) -> BenchResult:
    return run_method("amcl", context)


def run_cacr(context: BenchContext) -> BenchResult:
    return run_method("cacr", context)


#: (train items, test items, epochs, batch size) of the SepCLR row per profile.
SEPCLR_SETTINGS: dict[str, tuple[int, int, int, int]] = {
    "smoke": (200, 200, 1, 64),
    "quick": (1000, 1000, 5, 128),
    "full": (4000, 2000, 15, 128),
}


def run_sepclr(context: BenchContext) -> BenchResult:
    """SepCLR vs single-space SimCLR and SepCLR without k-JEM: probes of the digit (salient) and
    the item (common) from each space, next to raw pixels."""
    with torch_threads(1):
        return _run_sepclr(context)


def _run_sepclr(context: BenchContext) -> BenchResult:
    from cl_vision.contrastive_analysis import load_contrastive_analysis
    from cl_vision.sepclr import SepCLRConfig, raw_pixel_probe_scores, run_sepclr_comparison

    train_items, test_items, epochs, batch_size = SEPCLR_SETTINGS[context.profile]
    data = load_contrastive_analysis(
        _fashion_dir(context), train_limit=train_items, test_limit=test_items, seed=context.seed
    )
    config = SepCLRConfig(epochs=epochs, batch_size=batch_size, seed=context.seed)
    started = time.perf_counter()
    runs = run_sepclr_comparison(
        data, config, context.out_dir / "vision-sepclr", progress_bar=False
    )
    elapsed = time.perf_counter() - started
    raw = raw_pixel_probe_scores(data)
    return BenchResult(
        method="sepclr",
        modality="vision",
        dataset=context.dataset,
        data_kind="real",
        encoder="SmallResNet 32-64-128 (stride-2 stem) + common and salient 2-layer heads, 32-d",
        epochs=epochs,
        metrics=runs["sepclr"],
        baselines={
            "SepCLR without k-JEM": runs["sepclr_no_jem"],
            "single-space SimCLR": {
                key.replace("_from_common", "_from_space"): value
                for key, value in runs["simclr"].items()
            },
            "raw pixels": raw,
        },
        train_time_s=elapsed,
        samples_per_s=3 * epochs * train_items / elapsed if elapsed > 0 else 0.0,
        notes=(
            f"3 trainings of {epochs} epochs, batch {batch_size}; every probe's C (<name>_c) from "
            f"{DEFAULT_C_GRID} by CV on training rows only; data: {data.card}"
        ),
    )


#: (train images, test images, epochs) of the PixPro row per profile.
PIXPRO_SETTINGS: dict[str, tuple[int, int, int]] = {
    "smoke": (128, 100, 1),
    "quick": (2000, 1000, 5),
    "full": (10000, 2000, 10),
}


def run_pixpro(context: BenchContext) -> BenchResult:
    """PixPro vs SimCLR on the same encoder and crops: image-level and dense foreground probes."""
    with torch_threads(1):
        return _run_pixpro(context)


def _run_pixpro(context: BenchContext) -> BenchResult:
    from cl_vision.data import load_fashion_mnist_split
    from cl_vision.pixpro_training import (
        PixProConfig,
        dense_backbone,
        dense_scores,
        train_dense_encoder,
    )

    train_images, test_images, epochs = PIXPRO_SETTINGS[context.profile]
    split = load_fashion_mnist_split(
        _fashion_dir(context), train_limit=train_images, test_limit=test_images, seed=context.seed
    )
    out = context.out_dir / f"vision-pixpro-{context.dataset}"
    runs = {
        method: train_dense_encoder(
            split,
            PixProConfig(method, epochs=epochs, seed=context.seed),
            out / method,
            progress_bar=False,
        )
        for method in ("pixpro", "simclr")
    }
    pixpro = dense_scores(runs["pixpro"].backbone, split)
    simclr = dense_scores(runs["simclr"].backbone, split)
    torch.manual_seed(context.seed)
    untrained = dense_scores(dense_backbone(split.image_shape).eval(), split)
    return BenchResult(
        method="pixpro",
        modality="vision",
        dataset=context.dataset,
        data_kind="real",
        encoder="SmallResNet 32-64-128 (stride-2 stem), 4x4 map + MLP2d 1x1 projector to 64",
        epochs=epochs,
        metrics=pixpro,
        baselines={"SimCLR (same encoder and crops)": simclr, "random-init encoder": untrained},
        train_time_s=runs["pixpro"].train_time_s,
        samples_per_s=runs["pixpro"].samples_seen / runs["pixpro"].train_time_s,
        notes=(
            "dense_foreground_acc: logistic regression from each 4x4 cell's feature to whether the "
            "item covers it (> half its pixels non-zero), <= 20,000 cells a side; both probes "
            f"choose C (linear_c, dense_foreground_c) from {DEFAULT_C_GRID} by {CV_FOLDS}-fold "
            f"CV on <= {CV_SUBSAMPLE} training rows; data: {split.card}"
        ),
    )
