"""cl-bench recipes of cl-rlhf (import-light: the run functions live in ``cl_rlhf.bench_run``)."""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

_HH = (
    "Real: Anthropic HH-RLHF harmless-base test split, 2,312 human preference pairs (Bai et al. "
    "2022, arXiv:2204.05862; MIT). Deterministic 70/10/20 train/val/test split; quick profile: "
    "the first 300 pairs."
)

DATASETS: tuple[BenchDataset, ...] = (
    BenchDataset("hh-harmless", "real", _HH + " Labels as annotated.", needs_data_dir=True),
    BenchDataset(
        "hh-harmless-flip30",
        "real",
        _HH + " 30% of the training pairs get swapped labels (injected noise, known set); "
        "val/test labels untouched.",
        needs_data_dir=True,
    ),
)

_PAPER = "Secrets of RLHF Part II, Wang et al. 2024, arXiv:2401.06080 (baseline: Bradley-Terry)"

RECIPES: tuple[BenchRecipe, ...] = tuple(
    BenchRecipe(
        method=f"rm-{name}",
        modality="rlhf",
        datasets=DATASETS,
        run=f"cl_rlhf.bench_run:run_{name}",
        paper=_PAPER,
    )
    for name in ("flip", "smooth", "margin", "contrastive")
)
