"""cl-bench recipes of this package (import-light: the run functions live in ``bench_run``)."""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

_SPLITS = (
    " Standard HeCo 20/40/60-labels-per-class splits; from --data-dir (heco/<name>), the cache "
    "or the HeCo release download."
)

DATASETS: tuple[BenchDataset, ...] = (
    BenchDataset(
        "acm",
        "real",
        "Real: ACM papers, 3 classes, 4,019 papers / 7,167 authors / 60 subjects, bag-of-words "
        "features (HeCo release)." + _SPLITS,
        requires=("heco-acm",),
    ),
    BenchDataset(
        "dblp",
        "real",
        "Real: DBLP authors, 4 areas, 4,057 authors / 14,328 papers / 20 conferences / 7,723 "
        "terms (HeCo release; APTPA rebuilt from pa.txt + pt.txt)." + _SPLITS,
        requires=("heco-dblp",),
    ),
    BenchDataset(
        "aminer",
        "real",
        "Real: AMiner papers, 4 classes, 6,564 papers / 13,329 authors / 35,890 references, no "
        "node features (HeCo release)." + _SPLITS,
        requires=("heco-aminer",),
    ),
    BenchDataset(
        "freebase",
        "real",
        "Real: Freebase movies, 3 genres, 3,492 movies / 2,502 directors / 33,401 actors / "
        "4,459 writers, no node features (HeCo release)." + _SPLITS,
        requires=("heco-freebase",),
    ),
)

_MEOW = "MEOW, Yu & Li, SDM 2023, arXiv:2212.13847 (baseline: features-only logistic regression)"

RECIPES: tuple[BenchRecipe, ...] = (
    BenchRecipe(
        method="meow",
        modality="graph",
        datasets=DATASETS,
        run="cl_graph.bench_run:run_meow",
        headline="macro_f1@20",
        paper=_MEOW,
    ),
    BenchRecipe(
        method="adameow",
        modality="graph",
        datasets=DATASETS,
        run="cl_graph.bench_run:run_adameow",
        headline="macro_f1@20",
        paper="AdaMEOW, Yu et al., IEEE TKDE 2024 (baseline: features-only logistic regression)",
    ),
    BenchRecipe(
        method="heco-cross-view",
        modality="graph",
        datasets=DATASETS,
        run="cl_graph.bench_run:run_cross_view_baseline",
        headline="macro_f1@20",
        paper="cross-view InfoNCE with pos.npz positives, HeCo (Wang et al., KDD 2021, "
        "arXiv:2105.09111) on MEOW's views (baseline: features-only logistic regression)",
    ),
)
