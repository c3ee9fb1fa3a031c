"""cl-bench recipes of this package (import-light: the run functions live in ``bench_run``).

Every method has a quick row (scikit-learn digits) and a full row (Fashion-MNIST); each row also
reports the raw-pixel linear probe and the random-init encoder probe measured in the same run.
"""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

DIGITS = BenchDataset(
    "digits",
    "real",
    "Real: scikit-learn digits (1,797 8x8 grey handwritten digits, UCI ML repository, 10 classes); "
    "stratified 70/30 split.",
)
FASHION_MNIST = BenchDataset(
    "fashion-mnist",
    "real",
    "Real: Fashion-MNIST (Xiao et al. 2017, arXiv:1708.07747), 28x28 grey photos of Zalando "
    "articles, 10 classes, MIT licence; Debian package dataset-fashion-mnist (or --data-dir, or "
    "torchvision's download). quick/smoke use a class-balanced subset, full the whole 60k/10k "
    "split.",
    requires=("fashion-mnist",),
)

#: method name -> paper shown by ``cl-bench --list``.
METHOD_PAPERS: dict[str, str] = {
    "simclr": "SimCLR / NT-Xent, Chen et al. 2020, arXiv:2002.05709",
    "dcl": "DCL, Yeh et al., ECCV 2022, arXiv:2110.06848",
    "dclw": "DCLW (von Mises-Fisher weighted DCL), Yeh et al. 2022, arXiv:2110.06848",
    "nnclr": "NNCLR, Dwibedi et al., ICCV 2021, arXiv:2104.14548",
    "nnclr-dcl": "NNCLR support-set positives with the DCL loss (arXiv:2104.14548 + 2110.06848)",
    "mv-infonce": "MV-InfoNCE, Koromilas et al. 2025, arXiv:2507.06979 (V views)",
    "mv-dhel": "MV-DHEL, Koromilas et al. 2025, arXiv:2507.06979 (V views)",
    "mv-pairwise": "pairwise-average NT-Xent over V views (multi-view baseline)",
    "hydra": "Hydra / SimLAP gated multi-positive CE, arXiv:2410.18200",
    "amcl": "AMCL, Wang, Koniusz, Gedeon & Zheng, ECCV 2024 (3 heads + temperature network)",
    "cacr": "CACR, Zheng et al., TMLR 2023, arXiv:2105.03746",
    "mcl": "MCL, Zhang et al., ECCV 2024 (2 SimCLR stages, cluster-conditioned negatives, "
    "concatenated stage features)",
    "temperature-sweep": "Wang & Liu, Understanding the Behaviour of Contrastive Loss, CVPR 2021, "
    "arXiv:2012.09740 (uniformity/tolerance/accuracy per tau + hard-negative top-K)",
}


def _recipes(method: str) -> tuple[BenchRecipe, BenchRecipe]:
    run = f"cl_vision.bench_run:run_{method.replace('-', '_')}"
    paper = METHOD_PAPERS[method]
    return (
        BenchRecipe(
            method, "vision", (DIGITS, FASHION_MNIST), run, ("quick",), paper, headline="linear_acc"
        ),
        BenchRecipe(
            method, "vision", (FASHION_MNIST, DIGITS), run, ("full",), paper, headline="linear_acc"
        ),
    )


CONTRASTIVE_ANALYSIS = BenchDataset(
    "fashion-mnist+digits",
    "real",
    "Real images combined here: Fashion-MNIST items as background; other items with a "
    "scikit-learn digit pasted over the centre as target (salient attribute: the digit).",
    requires=("fashion-mnist",),
)

RECIPES: tuple[BenchRecipe, ...] = (
    *(recipe for method in METHOD_PAPERS for recipe in _recipes(method)),
    BenchRecipe(
        "pixpro",
        "vision",
        (FASHION_MNIST,),
        "cl_vision.bench_run:run_pixpro",
        ("quick", "full"),
        "PixPro, Xie et al., CVPR 2021, arXiv:2011.10043 (baselines: SimCLR on the same encoder "
        "and crops, random-init encoder; dense foreground probe)",
        headline="dense_foreground_acc",
    ),
    BenchRecipe(
        "sepclr",
        "vision",
        (CONTRASTIVE_ANALYSIS,),
        "cl_vision.bench_run:run_sepclr",
        ("quick", "full"),
        "SepCLR, Louiset et al., ICLR 2024, arXiv:2402.11928 (baselines: single-space SimCLR, "
        "SepCLR without k-JEM, raw pixels)",
        headline="digit_from_salient",
    ),
)
