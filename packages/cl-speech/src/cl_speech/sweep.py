"""Choose COCONUT's loss weights and temperature on held-out training voices, over several seeds.

A grid of ``(lambda_1 = nspt_weight, lambda_2 = mm_weight, tau = temperature)`` is run with
:func:`~cl_speech.continual.run_continual` on validation data
(:func:`~cl_speech.dataset.validation_split`) for every seed, next to replay-only (COCONUT with
both weights 0) at the same buffer size, scored the same way. The test voices are never touched.

Scoring (Cappellazzo et al., "Continual Contrastive Spoken Language Understanding", Findings of
ACL 2024, arXiv:2310.02699, report average accuracy and forgetting): a configuration's numbers are
the mean (and sample std) over seeds. The goal is to forget less than replay-only, so mean
forgetting ranks the configurations and average accuracy is reported next to it (and breaks
ties). Read both: a configuration that learns little also forgets little.

Every (configuration, seed) run is written atomically to ``runs/<config>-seed<seed>.json`` and
the aggregate ``sweep.json`` is rebuilt from those files after each run. A rerun skips finished
runs. ``shard=(i, n)`` runs only every n-th job starting at i, so n processes started on the same
folder share the work.

Example:
    >>> points = sweep_grid((0.01, 0.2), (0.05,), (0.1, 0.5))
    >>> len(points)
    4
    >>> config = ContinualConfig()
    >>> rows = run_sweep(load_validation, config, points, [0, 1, 2], "out")  # doctest: +SKIP
    >>> best_point(rows)["name"]  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cl_core.io import atomic_write_text

if TYPE_CHECKING:
    from cl_speech.continual import ContinualConfig
    from cl_speech.dataset import SLUData

REPLAY_ROW = "replay"
METRICS = ("final_accuracy", "average_accuracy", "forgetting", "final_wer", "train_time_s")


@dataclass(frozen=True)
class SweepPoint:
    """One COCONUT setting: ``lambda_1`` (NSPT), ``lambda_2`` (audio-text) and ``tau``."""

    nspt_weight: float
    mm_weight: float
    temperature: float

    @property
    def name(self) -> str:
        """A stable key, e.g. ``"nspt0.05-mm0.2-tau0.1"``."""
        return f"nspt{self.nspt_weight:g}-mm{self.mm_weight:g}-tau{self.temperature:g}"


def sweep_grid(
    nspt_weights: Sequence[float], mm_weights: Sequence[float], temperatures: Sequence[float]
) -> list[SweepPoint]:
    """The Cartesian grid of the three hyper-parameters.

    Args:
        nspt_weights: candidate ``lambda_1`` values, each >= 0.
        mm_weights: candidate ``lambda_2`` values, each >= 0.
        temperatures: candidate ``tau`` values, each > 0.

    Returns:
        ``len(nspt_weights) * len(mm_weights) * len(temperatures)`` points.

    Raises:
        ValueError: an empty list, a negative weight or a temperature <= 0.
    """
    for name, values, low_ok in (
        ("nspt_weights", nspt_weights, True),
        ("mm_weights", mm_weights, True),
        ("temperatures", temperatures, False),
    ):
        if len(values) == 0:
            raise ValueError(f"{name} must hold at least one value, got none")
        bad = [v for v in values if not (v >= 0 if low_ok else v > 0)]
        if bad:
            bound = ">= 0" if low_ok else "> 0"
            raise ValueError(f"{name} must all be {bound}, got {bad}")
    return [
        SweepPoint(float(n), float(m), float(t))
        for n, m, t in itertools.product(nspt_weights, mm_weights, temperatures)
    ]


def _check_seeds_and_shard(seeds: Sequence[int], shard: tuple[int, int]) -> None:
    if len(seeds) == 0:
        raise ValueError("seeds must hold at least one seed, got none")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard must be (i, n) with 0 <= i < n, got {shard}")


def run_sweep(
    load_data: Callable[[int], SLUData],
    base: ContinualConfig,
    points: Sequence[SweepPoint],
    seeds: Sequence[int],
    out_dir: str | os.PathLike[str],
    *,
    shard: tuple[int, int] = (0, 1),
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run replay-only and COCONUT at every point for every seed; keep ``sweep.json`` current.

    Args:
        load_data: the validation data of a seed (e.g. ``validation_split(load_slu_data(corpus,
            seed=s), seed=s)``); its ``is_test`` utterances are the ones scored.
        base: the shared settings (tasks, epochs, buffer, ...); its method, seed and COCONUT
            weights are replaced per run.
        points: the COCONUT settings to try (:func:`sweep_grid`).
        seeds: the seeds every configuration runs with.
        out_dir: folder of ``runs/`` and ``sweep.json``; finished runs there are not re-run.
        shard: ``(i, n)``: run only the jobs ``i, i + n, i + 2n, ...`` (for n processes).
        progress: a progress bar over the runs (and per task).

    Returns:
        The aggregated rows of every run found in ``out_dir`` (:func:`summarize_runs`).

    Raises:
        ValueError: no seeds, repeated seeds or a bad ``shard``.
    """
    _check_seeds_and_shard(seeds, shard)
    from tqdm.auto import tqdm

    from cl_speech.continual import run_continual

    runs_dir = Path(out_dir) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    configs = [(REPLAY_ROW, replace(base, method="replay", nspt_weight=0.0, mm_weight=0.0))]
    configs += [(point.name, replace(base, method="coconut", **asdict(point))) for point in points]
    jobs = [(name, config, seed) for seed in seeds for name, config in configs]
    jobs = [
        job
        for position, job in enumerate(jobs)
        if position % shard[1] == shard[0] and not _run_path(runs_dir, job[0], job[2]).exists()
    ]
    loaded: dict[int, SLUData] = {}
    for name, config, seed in tqdm(jobs, desc="sweep", unit="run", disable=not progress):
        if seed not in loaded:
            loaded = {seed: load_data(seed)}
        result = run_continual(loaded[seed], replace(config, seed=seed), progress=progress)
        run = {
            "name": name,
            "method": config.method,
            "seed": seed,
            "nspt_weight": config.nspt_weight,
            "mm_weight": config.mm_weight,
            "temperature": config.temperature,
            **result.summary(),
            "train_time_s": result.train_time_s,
        }
        atomic_write_text(_run_path(runs_dir, name, seed), json.dumps(run, indent=2))
        _write_summary(Path(out_dir), base)
    return _write_summary(Path(out_dir), base)


def _run_path(runs_dir: Path, name: str, seed: int) -> Path:
    return runs_dir / f"{name}-seed{seed}.json"


def _write_summary(out_dir: Path, base: ContinualConfig) -> list[dict[str, Any]]:
    runs = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((out_dir / "runs").glob("*.json"))
    ]
    rows = summarize_runs(runs)
    payload = {
        "base_config": {key: value for key, value in asdict(base).items() if key != "seed"},
        "scored_on": "validation voices",
        "ranking": "mean forgetting over seeds, lower first (ties: higher average accuracy)",
        "rows": rows,
    }
    atomic_write_text(out_dir / "sweep.json", json.dumps(payload, indent=2))
    return rows


def summarize_runs(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per configuration: its settings, seeds, and per metric the mean and ``_std``.

    The std is the sample standard deviation over seeds (0 for a single seed). Rows come in the
    order their configuration first appears in ``runs``.
    """
    by_name: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_name.setdefault(run["name"], []).append(run)
    rows = []
    for name, members in by_name.items():
        members = sorted(members, key=lambda run: run["seed"])
        first = members[0]
        row: dict[str, Any] = {
            "name": name,
            "method": first["method"],
            "nspt_weight": first["nspt_weight"],
            "mm_weight": first["mm_weight"],
            "temperature": first["temperature"],
            "seeds": [run["seed"] for run in members],
        }
        for metric in METRICS:
            values = [run[metric] for run in members]
            row[metric] = statistics.fmean(values)
            row[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def best_point(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The COCONUT row with the lowest mean forgetting (ties: higher average accuracy, then first).

    Only the rows run with the most seeds are compared.

    Raises:
        ValueError: ``rows`` has no COCONUT row.
    """
    coconut = [row for row in rows if row["method"] == "coconut"]
    if not coconut:
        raise ValueError("rows must hold at least one coconut row, got none")
    most = max(len(row["seeds"]) for row in coconut)
    complete = [row for row in coconut if len(row["seeds"]) == most]
    return min(complete, key=lambda row: (row["forgetting"], -row["average_accuracy"]))


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of the rows (mean +- std over seeds), lowest forgetting first."""
    lines = [
        "| config | seeds | forgetting | average accuracy | final accuracy | final WER |",
        "|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda row: (row["forgetting"], -row["average_accuracy"])):
        cells = [
            f"{row[metric]:.3f}+-{row[metric + '_std']:.3f}"
            for metric in ("forgetting", "average_accuracy", "final_accuracy", "final_wer")
        ]
        lines.append(f"| {row['name']} | {len(row['seeds'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
