"""Methods and benchmark recipes by name, so apps and benchmarks can list and build them.

Modality packages publish their benchmark recipes through the ``cl_bench.recipes`` entry-point group
(``RECIPES``: a sequence of :class:`BenchRecipe`) and their ``cl-train`` sub-commands through the
``cl_train.commands`` group (a ``register(subparsers)`` callable). Both targets must be cheap to
import: torch-heavy stacks are imported inside the functions that run the work, so ``--help`` and
``--list`` stay instant.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

DataKind = Literal["real", "synthesized", "real+synthetic-target"]
#: ``quick``: under 10 minutes on 2 cores; ``full``: each paper's small-scale setting; ``smoke``: a
#: sanity run of the quick recipes with the least work (its numbers mean nothing).
Profile = Literal["quick", "full", "smoke"]


@dataclass(frozen=True)
class BenchDataset:
    """A data set a recipe can run on, with its data card.

    Attributes:
        name: short identifier used on the command line (``--datasets``).
        kind: ``"real"`` for real recordings/annotations, ``"synthesized"`` for data this project
            generates, ``"real+synthetic-target"`` for real inputs with a generated target.
        card: one or two sentences: what the data is, where it comes from, its licence.
        requires: the data sets and system tools the row needs, by their names in
            :func:`cl_core.datasets.sources.all_requirements`; ``cl-bench`` skips a row when one is
            unavailable (the source chain finds or downloads data sets).
    """

    name: str
    kind: DataKind
    card: str
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class BenchContext:
    """What ``cl-bench`` hands a recipe's run function."""

    dataset: str
    profile: Profile
    seed: int
    data_dir: Path | None
    out_dir: Path


@dataclass
class BenchResult:
    """One row of the benchmark table.

    ``metrics`` holds the method's quality numbers; ``baselines`` maps a baseline name to its
    numbers for the same metrics, measured in the same run.
    """

    method: str
    modality: str
    dataset: str
    data_kind: DataKind
    encoder: str
    epochs: float
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    train_time_s: float = 0.0
    samples_per_s: float = 0.0
    peak_mem_mb: float = 0.0
    notes: str = ""


@dataclass(frozen=True)
class BenchRecipe:
    """A method recipe that ``cl-bench`` can run.

    Attributes:
        method: method name (``--methods``).
        modality: ``"core"``, ``"text"``, ``"vision"``, ...
        datasets: the data sets it runs on; the first is the default.
        run: ``"package.module:function"``; the function takes a :class:`BenchContext` and returns a
            :class:`BenchResult`. Imported only when the recipe runs.
        profiles: profiles that include this recipe.
        paper: short citation shown by ``--list``.
        headline: the key in the row's ``metrics`` (and its baselines') that the method's goal is
            about; ``cl-bench``'s results picture and table compare it with the best baseline.
        higher_is_better: the headline's direction (``False`` for an error or forgetting).
    """

    method: str
    modality: str
    datasets: tuple[BenchDataset, ...]
    run: str
    profiles: tuple[Profile, ...] = ("quick", "full")
    paper: str = ""
    headline: str = field(kw_only=True)
    higher_is_better: bool = field(default=True, kw_only=True)

    def __post_init__(self) -> None:
        if not self.headline:
            raise ValueError(
                f"headline of recipe {self.modality}/{self.method} must name a metric, got ''"
            )

    def load(self) -> Callable[[BenchContext], BenchResult]:
        """Import and return the run function."""
        module_name, _, attr = self.run.partition(":")
        return getattr(importlib.import_module(module_name), attr)


def discover_recipes() -> list[BenchRecipe]:
    """All recipes published under the ``cl_bench.recipes`` entry-point group, in a stable order."""
    recipes: list[BenchRecipe] = []
    for ep in sorted(entry_points(group="cl_bench.recipes"), key=lambda e: e.name):
        recipes.extend(ep.load())
    return recipes


def discover_train_commands() -> Mapping[str, Any]:
    """Entry points of ``cl-train`` sub-commands by modality name (not yet loaded)."""
    commands = sorted(entry_points(group="cl_train.commands"), key=lambda e: e.name)
    return {ep.name: ep for ep in commands}
