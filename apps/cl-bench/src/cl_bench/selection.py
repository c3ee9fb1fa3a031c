"""Which (recipe, dataset) rows a ``cl-bench`` invocation runs, checked against the registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cl_core.cli import UserFacingError
from cl_core.registry import BenchDataset, BenchRecipe

PROFILES = ("quick", "full", "smoke")


@dataclass(frozen=True)
class Row:
    """One benchmark row to run: a recipe on one of its datasets."""

    recipe: BenchRecipe
    dataset: BenchDataset

    @property
    def label(self) -> str:
        return f"{self.recipe.modality}/{self.recipe.method} on {self.dataset.name}"


def split_names(values: Sequence[str] | None) -> list[str]:
    """Names from repeated and/or comma-separated options (``--methods a,b --methods c``)."""
    names: list[str] = []
    for value in values or ():
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


def _profile_includes(recipe: BenchRecipe, profile: str) -> bool:
    # "smoke" is a tiny sanity run of everything in the quick profile.
    return (profile if profile != "smoke" else "quick") in recipe.profiles


def select_rows(
    recipes: Sequence[BenchRecipe],
    *,
    methods: Sequence[str],
    datasets: Sequence[str],
    profile: str,
    data_dir: Path | None,
) -> list[Row]:
    """The rows to run, in registry order.

    A method is named plainly (``simclr``: every modality's recipe of that name) or qualified by
    its modality (``core/simclr``). Without ``--datasets`` a recipe runs on its first (default)
    dataset; with it, on each named one it supports.

    A row's data need not be present here: the source chain of :mod:`cl_core.datasets.sources`
    finds or downloads it when the row runs (``--data-dir`` is one place it looks).

    Raises:
        UserFacingError: an unknown method or dataset, a selection with no rows, or a
            ``--data-dir`` that is not a directory.
    """
    known_methods = {recipe.method for recipe in recipes} | {
        f"{recipe.modality}/{recipe.method}" for recipe in recipes
    }
    unknown = [name for name in methods if name not in known_methods]
    if unknown:
        raise UserFacingError(
            f"unknown method(s) {', '.join(unknown)}; "
            f"choose from {', '.join(sorted(known_methods))}"
        )
    known_datasets = {d.name for recipe in recipes for d in recipe.datasets}
    unknown = [name for name in datasets if name not in known_datasets]
    if unknown:
        raise UserFacingError(
            f"unknown dataset(s) {', '.join(unknown)}; "
            f"choose from {', '.join(sorted(known_datasets))}"
        )
    if data_dir is not None and not data_dir.is_dir():
        raise UserFacingError(f"--data-dir {data_dir} is not a directory")
    rows: list[Row] = []
    for recipe in recipes:
        if methods and not {recipe.method, f"{recipe.modality}/{recipe.method}"} & set(methods):
            continue
        if not _profile_includes(recipe, profile):
            continue
        chosen = (
            [d for d in recipe.datasets if d.name in datasets]
            if datasets
            else list(recipe.datasets[:1])
        )
        rows.extend(Row(recipe, dataset) for dataset in chosen)
    if not rows:
        raise UserFacingError(
            f"no recipe matches methods={list(methods) or 'all'}, "
            f"datasets={list(datasets) or 'default'}, "
            f"profile={profile}"
        )
    return rows
