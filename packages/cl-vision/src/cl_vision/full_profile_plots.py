"""Plots of the full-profile checks of issue 6, written next to the results.

* Batch size (DCL: Yeh et al., "Decoupled Contrastive Learning", ECCV 2022, arXiv:2110.06848):
  linear-probe accuracy at batch 256 and batch 32, one line per method; the DCL paper's claim is
  that DCL's line is flatter than NT-Xent's (a smaller drop ``acc_b256 - acc_b32``).
* Views (MV-DHEL: Koromilas et al., "A Principled Framework for Multi-View Contrastive
  Learning", 2025, arXiv:2507.06979): effective rank of the frozen
  features against the number of views V; the paper reports it rising with V.

Example:
    >>> from cl_vision.full_profile_plots import batch_size_points
    >>> batch_size_points({"linear_acc": 0.8, "linear_acc_b32": 0.7})
    {32: 0.7, 256: 0.8}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cl_core.io import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_VIEWS_KEY = re.compile(r"^effective_rank_v(\d+)$")


def batch_size_points(metrics: Mapping[str, float], large_batch: int = 256) -> dict[int, float]:
    """Linear-probe accuracy per batch size from a full SimCLR/DCL row's metrics.

    Args:
        metrics: a row's metrics with ``linear_acc`` (trained at ``large_batch``) and
            ``linear_acc_b32``.
        large_batch: batch size of the row's main training.

    Returns:
        ``{32: acc_b32, large_batch: acc}``.

    Raises:
        KeyError: if ``metrics`` lacks ``linear_acc`` or ``linear_acc_b32``.
    """
    missing = [key for key in ("linear_acc", "linear_acc_b32") if key not in metrics]
    if missing:
        raise KeyError(f"metrics need {missing} for a batch-size plot, got {sorted(metrics)}")
    return {32: float(metrics["linear_acc_b32"]), large_batch: float(metrics["linear_acc"])}


def views_points(metrics: Mapping[str, float]) -> dict[int, float]:
    """Effective rank per number of views from the ``effective_rank_v{V}`` metrics of a row.

    Raises:
        KeyError: if ``metrics`` has no ``effective_rank_v{V}`` entry.
    """
    points = {
        int(match.group(1)): float(value)
        for key, value in metrics.items()
        if (match := _VIEWS_KEY.match(key))
    }
    if not points:
        raise KeyError(f"metrics need effective_rank_v<V> entries, got {sorted(metrics)}")
    return dict(sorted(points.items()))


def plot_batch_sizes(curves: Mapping[str, Mapping[int, float]], path: str | Path) -> Path:
    """Linear-probe accuracy against batch size (log axis), one line per method, as a PNG.

    Args:
        curves: method name -> {batch size: linear-probe accuracy} (see :func:`batch_size_points`).
        path: PNG to write (atomically).

    Returns:
        ``path``.
    """
    if not curves:
        raise ValueError("curves must name at least one method")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 3.5))
    for method, points in curves.items():
        sizes = sorted(points)
        axis.plot(sizes, [points[s] for s in sizes], "o-", label=method)
    axis.set_xscale("log", base=2)
    axis.set_xlabel("batch size (same epochs)")
    axis.set_ylabel("linear-probe accuracy")
    axis.legend()
    figure.tight_layout()
    return _save(figure, path)


def plot_views(points: Mapping[int, float], path: str | Path, method: str = "mv-dhel") -> Path:
    """Effective rank of the frozen features against the number of views V, as a PNG."""
    if not points:
        raise ValueError("points must hold at least one (views, effective rank) pair")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 3.5))
    views = sorted(points)
    axis.plot(views, [points[v] for v in views], "o-", label=method)
    axis.set_xticks(views)
    axis.set_xlabel("views per image V")
    axis.set_ylabel("effective rank")
    axis.legend()
    figure.tight_layout()
    return _save(figure, path)


def plot_batch_size_comparison(results_json: str | Path, path: str | Path) -> Path:
    """The NT-Xent vs DCL batch-size plot from a ``cl-bench`` ``results.json``.

    Uses every row that carries ``linear_acc_b32`` (full-profile SimCLR / DCL rows).

    Raises:
        ValueError: if the file has no such row.
    """
    rows = json.loads(Path(results_json).read_text(encoding="utf-8")).get("rows", [])
    curves = {
        f"{row['method']} ({row['dataset']})": batch_size_points(row["metrics"])
        for row in rows
        if "linear_acc_b32" in row.get("metrics", {})
    }
    if not curves:
        raise ValueError(f"{results_json}: no row with linear_acc_b32 (run the full profile)")
    return plot_batch_sizes(curves, path)


def _save(figure: Figure, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        figure.savefig(temp, dpi=100)
    plt.close(figure)
    return path
