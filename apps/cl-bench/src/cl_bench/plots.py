"""Plots of a benchmark run: each row's metrics next to its baselines, and samples/s per row."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metrics_vs_baselines(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """One panel per (successful row, metric it shares with a baseline): the method's bar next to
    each baseline's, so metrics on different scales (accuracy, effective rank) never share an axis.

    Returns:
        The PNG path, or ``None`` when no row has a metric in common with a baseline.
    """
    panels = []
    for row in rows:
        if row["status"] != "ok":
            continue
        for metric in row["metrics"]:
            bars = {row["method"]: row["metrics"][metric]}
            bars.update({name: b[metric] for name, b in row["baselines"].items() if metric in b})
            if len(bars) > 1:
                panels.append(
                    (f"{row['modality']}/{row['method']} on {row['dataset']}", metric, bars)
                )
    if not panels:
        return None
    plt = _pyplot()
    columns = min(3, len(panels))
    lines = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(lines, columns, figsize=(4.5 * columns, 3 * lines), squeeze=False)
    for axis in axes.flat[len(panels) :]:
        axis.set_visible(False)
    for axis, (title, metric, bars) in zip(axes.flat, panels, strict=False):
        colours = [f"C{i}" for i in range(len(bars))]
        axis.bar(range(len(bars)), list(bars.values()), color=colours)
        axis.set_xticks(range(len(bars)), list(bars), rotation=15, fontsize=7)
        axis.set_ylabel(metric)
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_throughput(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Horizontal bars of training samples/s for each successful row (``None`` if there is none)."""
    done = [row for row in rows if row["status"] == "ok"]
    if not done:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 0.45 * len(done) + 1.2))
    labels = [f"{r['modality']}/{r['method']} ({r['dataset']})" for r in done]
    axis.barh(labels, [r["samples_per_s"] for r in done])
    axis.set_xlabel("training samples/s")
    axis.invert_yaxis()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
