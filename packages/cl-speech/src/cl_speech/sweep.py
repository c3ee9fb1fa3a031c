"""Choose COCONUT's loss weights and temperature on held-out training voices (validation).

A grid of ``(lambda_1 = nspt_weight, lambda_2 = mm_weight, tau = temperature)`` is run with
:func:`~cl_speech.continual.run_continual` on :func:`~cl_speech.dataset.validation_split` data,
next to replay-only (COCONUT with both weights 0) at the same buffer size. The test voices are
never touched. A point's score is ``average_accuracy - forgetting`` on the validation voices
(Cappellazzo et al., "Continual Contrastive Spoken Language Understanding", Findings of ACL 2024,
arXiv:2310.02699, report both metrics; the score rewards remembering without giving up accuracy).
``sweep.json`` is rewritten (atomically) after every configuration, and an existing file is
resumed: finished configurations are not run again.

Example:
    >>> points = sweep_grid((0.01, 0.2), (0.05,), (0.1, 0.5))
    >>> len(points)
    4
    >>> rows = run_sweep(validation_split(data), ContinualConfig(), points, "out")  # doctest: +SKIP
    >>> best_point(rows)  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cl_core.io import atomic_write_text

if TYPE_CHECKING:
    from cl_speech.continual import ContinualConfig
    from cl_speech.dataset import SLUData

REPLAY_ROW = "replay"


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


def run_sweep(
    data: SLUData,
    base: ContinualConfig,
    points: Sequence[SweepPoint],
    out_dir: str | os.PathLike[str],
    *,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run replay-only and COCONUT at every point; write ``out_dir/sweep.json`` after each.

    Args:
        data: validation data (:func:`~cl_speech.dataset.validation_split`); its ``is_test``
            utterances are the ones scored.
        base: the shared settings (tasks, epochs, buffer, seed, ...); its method and COCONUT
            weights are replaced per row.
        points: the COCONUT settings to try (:func:`sweep_grid`).
        out_dir: folder of ``sweep.json``; rows already in it are kept and not re-run.
        progress: a progress bar over the configurations (and per task).

    Returns:
        One row per configuration: ``name``, ``method``, the three hyper-parameters, ``score``
        and the run's summary metrics (final / average accuracy, forgetting, WER, train time).
    """
    from tqdm.auto import tqdm

    from cl_speech.continual import run_continual

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "sweep.json"
    rows: list[dict[str, Any]] = (
        json.loads(path.read_text(encoding="utf-8"))["rows"] if path.exists() else []
    )
    done = {row["name"] for row in rows}
    todo: list[tuple[str, ContinualConfig]] = [
        (REPLAY_ROW, replace(base, method="replay", nspt_weight=0.0, mm_weight=0.0))
    ]
    todo += [(point.name, replace(base, method="coconut", **asdict(point))) for point in points]
    todo = [(name, config) for name, config in todo if name not in done]
    for name, config in tqdm(todo, desc="sweep", unit="config", disable=not progress):
        result = run_continual(data, config, progress=progress)
        summary = result.summary()
        rows.append(
            {
                "name": name,
                "method": config.method,
                "nspt_weight": config.nspt_weight,
                "mm_weight": config.mm_weight,
                "temperature": config.temperature,
                "score": summary["average_accuracy"] - summary["forgetting"],
                **summary,
                "train_time_s": result.train_time_s,
            }
        )
        payload = {"base_config": asdict(base), "scored_on": "validation voices", "rows": rows}
        atomic_write_text(path, json.dumps(payload, indent=2))
    return rows


def best_point(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The COCONUT row with the highest ``score`` (ties: lower forgetting, then first).

    Raises:
        ValueError: ``rows`` has no COCONUT row.
    """
    coconut = [row for row in rows if row["method"] == "coconut"]
    if not coconut:
        raise ValueError("rows must hold at least one coconut row, got none")
    return max(coconut, key=lambda row: (row["score"], -row["forgetting"]))


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of the rows, best score first."""
    lines = [
        "| config | score | average accuracy | forgetting | final accuracy |",
        "|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda row: -row["score"]):
        lines.append(
            f"| {row['name']} | {row['score']:.3f} | {row['average_accuracy']:.3f} | "
            f"{row['forgetting']:.3f} | {row['final_accuracy']:.3f} |"
        )
    return "\n".join(lines)
