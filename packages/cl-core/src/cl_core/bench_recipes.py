"""cl-core's benchmark recipes (modality ``core``), published under the ``cl_bench.recipes`` group.

Import-light: the run functions (``cl_core.recipes.digits_bench``) load only when a row runs.
"""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

DIGITS = BenchDataset(
    name="digits",
    kind="real",
    card=(
        "real (scikit-learn digits, UCI): 1,797 handwritten 8x8 grey-level images, 10 classes, "
        "bundled with scikit-learn; stratified 70/30 train/test split"
    ),
)

RECIPES: tuple[BenchRecipe, ...] = (
    BenchRecipe(
        method="simclr",
        modality="core",
        datasets=(DIGITS,),
        run="cl_core.recipes.digits_bench:run_simclr",
        headline="linear_acc",
        paper="Chen et al. 2020, A Simple Framework for Contrastive Learning (arXiv:2002.05709)",
    ),
    BenchRecipe(
        method="dcl",
        modality="core",
        datasets=(DIGITS,),
        run="cl_core.recipes.digits_bench:run_dcl",
        headline="linear_acc",
        paper="Yeh et al. 2021, Decoupled Contrastive Learning (arXiv:2110.06848)",
    ),
    BenchRecipe(
        method="supcon",
        modality="core",
        datasets=(DIGITS,),
        run="cl_core.recipes.digits_bench:run_supcon",
        headline="linear_acc",
        paper="Khosla et al. 2020, Supervised Contrastive Learning (arXiv:2004.11362)",
    ),
)
