"""Run functions of the cl-bench recipes; each returns one row with its baseline beside it."""

from __future__ import annotations

from typing import Any

from cl_core.registry import BenchContext, BenchResult
from cl_multimodal.bench import (
    BUNDLES_CARD,
    CONTINUAL_CARD,
    EMOJI_CARD,
    GAP_CARD,
    SHAPES_CARD,
    SPOKEN_SHAPES_CARD,
    TWO_VIEW_CARD,
    XOR_CARD,
)

#: Settings per profile of the emoji CLIP rows: smoke is a sanity run, quick a short one.
_CLIP_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"limit": 60, "epochs": 1, "text_tower": "bow", "batch_size": 32},
    "quick": {"limit": None, "epochs": 6, "text_tower": "minilm", "batch_size": 128},
    "full": {"limit": None, "epochs": 30, "text_tower": "minilm", "batch_size": 128},
}


def _settings(table: dict[str, dict[str, Any]], ctx: BenchContext) -> dict[str, Any]:
    if ctx.profile not in table:
        raise ValueError(f"profile must be one of {tuple(table)}, got {ctx.profile!r}")
    return table[ctx.profile]


def run_clip_improved(ctx: BenchContext) -> BenchResult:
    """CLIP with the improved-baselines recipe against plain CLIP on held-out emoji."""
    from cl_multimodal.clip_training import ClipTrainConfig
    from cl_multimodal.data.emoji import load_emoji
    from cl_multimodal.evaluation import emoji_category_prompts
    from cl_multimodal.experiments.clip_emoji import train_and_evaluate_clip
    from cl_multimodal.towers.minilm import DEFAULT_FEATURE_CACHE

    settings = _settings(_CLIP_SETTINGS, ctx)
    train, test = load_emoji(limit=settings["limit"], data_dir=ctx.data_dir).split(0.2, seed=0)
    config = ClipTrainConfig(
        epochs=settings["epochs"], batch_size=settings["batch_size"], seed=ctx.seed
    )
    runs = {
        improved: train_and_evaluate_clip(
            train,
            test,
            config,
            improved=improved,
            text_tower=settings["text_tower"],
            cache_file=DEFAULT_FEATURE_CACHE,
            prompts=emoji_category_prompts(test.label_names),
        )
        for improved in (True, False)
    }
    ours = runs[True]
    text = "frozen MiniLM-L6 + linear" if settings["text_tower"] == "minilm" else "bag of words"
    return BenchResult(
        method="clip-improved",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="real",
        encoder=f"small CNN / {text}",
        epochs=float(settings["epochs"]),
        metrics=ours.metrics,
        baselines={"clip": runs[False].metrics},
        train_time_s=ours.stats.train_time_s,
        samples_per_s=ours.stats.samples_per_s,
        notes=f"{EMOJI_CARD} Train {len(train)} / test {len(test)} pairs.",
    )


def run_grounded_language(ctx: BenchContext) -> BenchResult:
    """Held-out emoji names embedded by the text tower alone, before and after CLIP training."""
    from cl_multimodal.clip_training import ClipTrainConfig
    from cl_multimodal.data.emoji import load_emoji
    from cl_multimodal.experiments.grounded_emoji import compare_grounding
    from cl_multimodal.towers.minilm import DEFAULT_FEATURE_CACHE

    settings = _settings(_CLIP_SETTINGS, ctx)
    train, test = load_emoji(limit=settings["limit"], data_dir=ctx.data_dir).split(0.2, seed=0)
    config = ClipTrainConfig(
        epochs=settings["epochs"], batch_size=settings["batch_size"], seed=ctx.seed
    )
    plot = ctx.out_dir / "grounded-language-pca.png"
    result = compare_grounding(
        train,
        test,
        config,
        text_tower=settings["text_tower"],
        cache_file=DEFAULT_FEATURE_CACHE,
        plot_path=plot,
    )
    baselines = {name: m for name, m in result.metrics.items() if name != "clip-grounded"}
    text = "frozen MiniLM-L6 + linear" if settings["text_tower"] == "minilm" else "bag of words"
    return BenchResult(
        method="grounded-language",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="real",
        encoder=f"small CNN / {text}",
        epochs=float(settings["epochs"]),
        metrics=result.metrics["clip-grounded"],
        baselines=baselines,
        train_time_s=result.stats.train_time_s,
        samples_per_s=result.stats.samples_per_s,
        notes=(
            f"{EMOJI_CARD} Improved-recipe CLIP on {len(train)} pairs; {result.test_words} "
            f"held-out base emoji names (no prompt) embedded by the text tower alone, k-NN "
            f"memory: {result.reference_words} training names; k = 10. visual_overlap: shared "
            "10-NN with 16x16 pixel space (frozen); visual_overlap_image_tower: with the trained "
            f"image tower. PCA plot: {plot}."
        ),
    )


def run_clip_ssl_addons(ctx: BenchContext) -> BenchResult:
    """CLIP + CL2L + SiamLIP against CL2L alone and the improved CLIP recipe on held-out emoji."""
    import torch

    from cl_multimodal.clip_training import ClipTrainConfig, train_two_tower
    from cl_multimodal.data.emoji import load_emoji
    from cl_multimodal.evaluation import (
        emoji_category_prompts,
        retrieval_metrics,
        zero_shot_metrics,
    )
    from cl_multimodal.ssl_two_tower import SSLTwoTowerModel
    from cl_multimodal.towers.factory import build_image_tower, build_text_tower
    from cl_multimodal.towers.minilm import DEFAULT_FEATURE_CACHE
    from cl_multimodal.two_tower import TwoTowerModel

    settings = _settings(_CLIP_SETTINGS, ctx)
    train, test = load_emoji(limit=settings["limit"], data_dir=ctx.data_dir).split(0.2, seed=0)
    config = ClipTrainConfig(
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        image_augment=True,
        text_augment=True,
        seed=ctx.seed,
    )
    dim = 128
    metrics, stats = {}, {}
    for addon in ("siamlip", "cl2l", "clip-improved"):
        torch.manual_seed(ctx.seed)
        towers = (
            build_image_tower("cnn", dim),
            build_text_tower(
                settings["text_tower"], train.captions, dim, cache_file=DEFAULT_FEATURE_CACHE
            ),
        )
        if addon == "clip-improved":
            model = TwoTowerModel(*towers, label_smoothing=0.1)
        else:
            model = SSLTwoTowerModel(*towers, dim, addon=addon, label_smoothing=0.1, seed=ctx.seed)
        stats[addon] = train_two_tower(model, train, config)
        metrics[addon] = retrieval_metrics(model, test)
        metrics[addon].update(
            zero_shot_metrics(model, test, emoji_category_prompts(test.label_names))
        )
    text = "frozen MiniLM-L6 + linear" if settings["text_tower"] == "minilm" else "bag of words"
    return BenchResult(
        method="clip-ssl-addons",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="real",
        encoder=f"small CNN / {text}",
        epochs=float(settings["epochs"]),
        metrics=metrics["siamlip"],
        baselines={"cl2l": metrics["cl2l"], "clip-improved": metrics["clip-improved"]},
        train_time_s=stats["siamlip"].train_time_s,
        samples_per_s=stats["siamlip"].samples_per_s,
        notes=(
            f"{EMOJI_CARD} Train {len(train)} / test {len(test)} pairs; all three runs share "
            "towers, seed, epochs and the improved recipe (crops, caption edits, smoothing 0.1); "
            "the add-ons draw one augmented view pair per batch (n_aug 1)."
        ),
    )


_NEGCLIP_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"scenes": 96, "epochs": 1},
    "quick": {"scenes": 800, "epochs": 6},
    "full": {"scenes": 3000, "epochs": 15},
}


def run_negclip(ctx: BenchContext) -> BenchResult:
    """NegCLIP against plain CLIP on rendered scenes (ARO accuracies, retrieval)."""
    from cl_multimodal.clip_training import ClipTrainConfig
    from cl_multimodal.experiments.negclip_shapes import compare_negclip_with_clip

    settings = _settings(_NEGCLIP_SETTINGS, ctx)
    config = ClipTrainConfig(epochs=settings["epochs"], batch_size=64, lr=3e-3, seed=ctx.seed)
    result = compare_negclip_with_clip(settings["scenes"], config)
    return BenchResult(
        method="negclip",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder="small CNN / bidirectional GRU",
        epochs=float(settings["epochs"]),
        metrics=result.metrics["negclip"],
        baselines={"clip": result.metrics["clip"]},
        train_time_s=result.stats["negclip"].train_time_s,
        samples_per_s=result.stats["negclip"].samples_per_s,
        notes=(
            f"{SHAPES_CARD} Train {result.train_size} / test {result.test_size} scenes. ARO "
            "chance: attribution and relation 0.5, order 0.2."
        ),
    )


_SYMILE_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"train_size": 400, "test_size": 200, "batch_size": 20, "epochs": 2},
    "quick": {"train_size": 4000, "test_size": 1000, "batch_size": 500, "epochs": 20},
    "full": {"train_size": 10_000, "test_size": 5000, "batch_size": 1000, "epochs": 50},
}


def run_symile(ctx: BenchContext) -> BenchResult:
    """Symile against pairwise CLIP on the binary XOR toy (zero-shot prediction of c from a, b)."""
    import time

    from cl_multimodal.experiments.symile_xor import XorConfig, train_and_score_xor

    config = XorConfig(seed=ctx.seed, **_settings(_SYMILE_SETTINGS, ctx))
    started = time.perf_counter()
    ours = train_and_score_xor("symile", config)
    train_time = time.perf_counter() - started
    return BenchResult(
        method="symile",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder=f"linear {config.bits}->{config.dim} per modality",
        epochs=float(config.epochs),
        metrics=ours,
        baselines={"pairwise-clip": train_and_score_xor("clip", config)},
        train_time_s=train_time,
        samples_per_s=config.epochs * config.train_size / max(train_time, 1e-9),
        notes=f"{XOR_CARD} {config.bits} bits: chance {1 / 2**config.bits:.3f}; O(N) negatives.",
    )


_CMCL_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"train_size": 200, "test_size": 100, "epochs": 1, "batch_size": 50},
    "quick": {"train_size": 2000, "test_size": 500, "epochs": 5, "lr": 0.03},
    "full": {"train_size": 10_000, "test_size": 1000, "epochs": 10, "lr": 0.03},
}


def run_cmcl(ctx: BenchContext) -> BenchResult:
    """CMCL's dual-sided null-space projection against fine-tuning over four modality pairs."""
    import time

    from cl_multimodal.experiments.cmcl_synthetic import ContinualConfig, run_continual

    config = ContinualConfig(seed=ctx.seed, **_settings(_CMCL_SETTINGS, ctx))
    started = time.perf_counter()
    ours = run_continual("dns", config)
    train_time = time.perf_counter() - started
    baseline = run_continual("finetune", config)

    def scalars(result: dict[str, object]) -> dict[str, float]:
        return {k: float(v) for k, v in result.items() if k != "recall_matrix"}

    steps = "; ".join(
        f"after step {i + 1}: " + ", ".join(f"{r:.3f}" for r in row if r == r)
        for i, row in enumerate(ours["recall_matrix"])
    )
    return BenchResult(
        method="cmcl",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder="one linear map per modality on fixed features",
        epochs=float(config.epochs),
        metrics=scalars(ours),
        baselines={"finetune": scalars(baseline)},
        train_time_s=train_time,
        samples_per_s=4 * config.epochs * config.train_size / max(train_time, 1e-9),
        notes=f"{CONTINUAL_CARD} CMCL Recall@1 of each seen pair {steps}.",
    )


_CLOSE_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"train_size": 200, "test_size": 200, "epochs": 10},
    "quick": {"train_size": 2000, "test_size": 1000, "epochs": 100},
    "full": {"train_size": 10_000, "test_size": 5000, "epochs": 300},
}


def run_close(ctx: BenchContext) -> BenchResult:
    """CLOSE (text-only training with noise) against a classifier trained on image embeddings."""
    import time

    from cl_multimodal.experiments.close_synthetic import GapConfig, compare_close

    config = GapConfig(seed=ctx.seed, **_settings(_CLOSE_SETTINGS, ctx))
    started = time.perf_counter()
    metrics = compare_close(config)
    train_time = time.perf_counter() - started
    image_trained = metrics.pop("image_trained_acc")
    return BenchResult(
        method="close",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder="softmax regression on fixed joint-space embeddings",
        epochs=float(config.epochs),
        metrics=metrics,
        baselines={"image-trained": {"close_best_acc": image_trained}},
        train_time_s=train_time,
        samples_per_s=7 * config.epochs * config.train_size / max(train_time, 1e-9),
        notes=(
            f"{GAP_CARD} Text-only classifiers at noise w in (0, .04, .08, .16, .32, .64) "
            "tested on image embeddings; w = 0 is text-only training without CLOSE."
        ),
    )


_M3COL_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"train_size": 128, "test_size": 200, "epochs": 3},
    "quick": {"epochs": 60},
    "full": {"epochs": 150},
}


def run_m3col(ctx: BenchContext) -> BenchResult:
    """M3CoL (M3Co then SoftCLIP) against a CLIP term and no contrastive term."""
    import time

    from cl_multimodal.experiments.m3col_synthetic import TwoViewConfig, compare_m3col

    config = TwoViewConfig(seed=ctx.seed, **_settings(_M3COL_SETTINGS, ctx))
    started = time.perf_counter()
    results = compare_m3col(config)
    train_time = time.perf_counter() - started
    return BenchResult(
        method="m3col",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder="two MLP encoders, fusion + unimodal linear heads",
        epochs=float(config.epochs),
        metrics=results["m3co"],
        baselines={"clip-term": results["clip"], "no-contrastive": results["none"]},
        train_time_s=train_time,
        samples_per_s=3 * config.epochs * config.train_size / max(train_time, 1e-9),
        notes=f"{TWO_VIEW_CARD} Test accuracy on {config.test_size} samples.",
    )


def run_slipform(ctx: BenchContext) -> BenchResult:
    """Slipform against ConcretePlant + InfoNCE, NegCLIP and CLIP on rendered scenes."""
    from cl_core.datasets.sources import resolve_dataset
    from cl_multimodal.clip_training import ClipTrainConfig
    from cl_multimodal.concreteness import WordNetConcreteness
    from cl_multimodal.experiments.slipform_shapes import compare_slipform

    settings = _settings(_NEGCLIP_SETTINGS, ctx)
    config = ClipTrainConfig(epochs=settings["epochs"], batch_size=64, lr=3e-3, seed=ctx.seed)
    concreteness = WordNetConcreteness(resolve_dataset("wordnet", ctx.data_dir))
    result = compare_slipform(settings["scenes"], config, concreteness=concreteness)
    return BenchResult(
        method="slipform",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder="small CNN / bidirectional GRU",
        epochs=float(settings["epochs"]),
        metrics=result.metrics["slipform"],
        baselines={m: result.metrics[m] for m in ("concreteplant-infonce", "negclip", "clip")},
        train_time_s=result.stats["slipform"].train_time_s,
        samples_per_s=result.stats["slipform"].samples_per_s,
        notes=(
            f"{SHAPES_CARD} Train {result.train_size} / test {result.test_size} scenes. Word "
            "concreteness from WordNet 3.0 (share of physical-entity noun senses); ConcretePlant "
            "swaps the two colours or the two shapes, whichever word is more concrete; Cement "
            "margin weight 0.2. ARO chance: attribution and relation 0.5, order 0.2."
        ),
    )


_CLHE_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"data": {"num_items": 60, "num_clusters": 5, "num_bundles": 200}, "epochs": 2},
    "quick": {"data": {}, "epochs": 30},
    "full": {"data": {"num_bundles": 5000}, "epochs": 50},
}


def run_clhe(ctx: BenchContext) -> BenchResult:
    """CLHE against its encoder without contrastive terms, mean pooling and popularity."""
    from cl_multimodal.data.bundles import synthetic_bundles
    from cl_multimodal.experiments.clhe_bundles import BundleTrainConfig, compare_clhe

    settings = _settings(_CLHE_SETTINGS, ctx)
    data = synthetic_bundles(seed=ctx.seed, **settings["data"])
    config = BundleTrainConfig(epochs=settings["epochs"], seed=ctx.seed)
    metrics, seconds = compare_clhe(data, config)
    return BenchResult(
        method="clhe",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder="item tokens + self-attention / 1-layer Transformer bundle encoder, dim 64",
        epochs=float(settings["epochs"]),
        metrics=metrics["clhe"],
        baselines={m: metrics[m] for m in ("no-cl", "mean-pooling", "popularity")},
        train_time_s=seconds["clhe"],
        samples_per_s=settings["epochs"] * len(data.train_bundles) / max(seconds["clhe"], 1e-9),
        notes=(
            f"{BUNDLES_CARD} {data.num_items} items, {len(data.train_bundles)} train / "
            f"{len(data.test_inputs)} test bundles. Item CL alpha 0.1; bundle CL alpha 0.2, "
            "tau 0.2 (the official alpha 2, tau 0.05 hurt here: same-cluster bundles are false "
            "negatives). Recall@K = share of missing items in the top K; *_no_visual: visual "
            "modality missing at test time."
        ),
    )


_SPOKEN_SYMILE_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"train_size": 200, "test_size": 100, "epochs": 1, "batch_size": 50},
    "quick": {"train_size": 2000, "test_size": 500, "epochs": 15},
    "full": {"train_size": 8000, "test_size": 1000, "epochs": 30},
}


def run_spoken_symile(ctx: BenchContext) -> BenchResult:
    """Symile against pairwise CLIP on image + caption + spoken caption (espeak-ng)."""
    import time

    from cl_multimodal.spoken_symile import SpokenSymileConfig, train_and_score_spoken

    config = SpokenSymileConfig(seed=ctx.seed, **_settings(_SPOKEN_SYMILE_SETTINGS, ctx))
    started = time.perf_counter()
    ours = train_and_score_spoken("symile", config)
    train_time = time.perf_counter() - started
    return BenchResult(
        method="symile-spoken",
        modality="multimodal",
        dataset=ctx.dataset,
        data_kind="synthesized",
        encoder="small CNN (image) + GRU (text) + log-mel CNN (audio)",
        epochs=float(config.epochs),
        metrics=ours,
        baselines={"pairwise-clip": train_and_score_spoken("clip", config)},
        train_time_s=train_time,
        samples_per_s=config.epochs * config.train_size / max(train_time, 1e-9),
        notes=f"{SPOKEN_SHAPES_CARD} Zero-shot among 5 candidates (chance 0.2); O(N) negatives.",
    )
