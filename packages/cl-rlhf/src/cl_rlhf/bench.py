"""cl-bench recipes of cl-rlhf (import-light: the run functions live in ``cl_rlhf.bench_run``)."""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

_HH = (
    "Real: Anthropic HH-RLHF harmless-base test split, 2,312 human preference pairs (Bai et al. "
    "2022, arXiv:2204.05862; MIT). Deterministic 70/10/20 train/val/test split; quick profile: "
    "the first 600 pairs."
)

DATASETS: tuple[BenchDataset, ...] = (
    BenchDataset("hh-harmless", "real", _HH + " Labels as annotated.", requires=("hh-rlhf",)),
    BenchDataset(
        "hh-harmless-flip30",
        "real",
        _HH + " 30% of the training pairs get swapped labels (injected noise, known set); "
        "val/test labels untouched.",
        requires=("hh-rlhf",),
    ),
)

LENGTH_SHIFT = BenchDataset(
    "hh-harmless-length-shift",
    "real",
    _HH + " Length shift: labelled training pairs are those whose longer response has at most "
    "the median word count; test accuracy on the long test pairs; MetaRM sees the long training "
    "pairs unlabelled.",
    requires=("hh-rlhf",),
)

GRIDWORLD = BenchDataset(
    "gridworld-spurious",
    "synthesized",
    "Simulated: 6x6 gridworld random-walk trajectories; reward = goal share - hazard share; the "
    "observation adds a spurious scalar that tracks the reward in the preference data and is "
    "independent of it under the shift (cl_rlhf.sirl.gridworld).",
)

_PAPER = "Secrets of RLHF Part II, Wang et al. 2024, arXiv:2401.06080 (baseline: Bradley-Terry)"

RECIPES: tuple[BenchRecipe, ...] = (
    *(
        BenchRecipe(
            method=f"rm-{name}",
            modality="rlhf",
            datasets=DATASETS,
            run=f"cl_rlhf.bench_run:run_{name}",
            paper=_PAPER,
            headline="test_accuracy",
        )
        for name in ("flip", "smooth", "margin", "contrastive", "swav")
    ),
    BenchRecipe(
        method="rm-bt-finetune",
        modality="rlhf",
        datasets=DATASETS,
        run="cl_rlhf.bench_run:run_bt_finetune",
        profiles=("full",),
        paper=_PAPER + "; BT with the encoder's last 2 blocks fine-tuned (full profile only)",
        headline="test_accuracy",
    ),
    BenchRecipe(
        method="rm-metarm",
        modality="rlhf",
        datasets=(LENGTH_SHIFT,),
        run="cl_rlhf.bench_run:run_metarm",
        paper=_PAPER + "; MetaRM",
        headline="shifted_test_accuracy",
    ),
    BenchRecipe(
        method="sirl",
        modality="rlhf",
        datasets=(GRIDWORLD,),
        run="cl_rlhf.bench_run:run_sirl",
        paper="SIRL, Bobu et al. HRI 2023, arXiv:2301.00810 (baseline: reward on raw features)",
        headline="shifted_accuracy",
    ),
)
