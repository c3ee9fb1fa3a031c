"""Plots of a benchmark run: every row's headline metric against its best same-run baseline (the
results picture), and training samples/s per row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cl_bench.headline import Headline, describe, headline_of

ROW_INCHES = 0.25
LABELS_INCHES = 2.6
NOTES_INCHES = 4.9
PLOT_INCHES = 5.6
BETTER, WORSE, NEUTRAL = "tab:blue", "tab:orange", "0.55"
#: The gain axis is linear within +-LINEAR_PERCENT and logarithmic beyond, so a 1% difference
#: and a 500% one are both visible; bars beyond +-MAX_PERCENT are clipped and marked.
LINEAR_PERCENT = 2.0
MAX_PERCENT = 300.0
GAIN_TICKS = (1, 2, 10, 100)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grouped(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows by modality, modalities and rows in run order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["modality"], []).append(row)
    return groups


def _axis_limit(gains: list[float]) -> float:
    """Half-width of the gain axis in percent: the largest gain, within [5, MAX_PERCENT]."""
    largest = max((abs(gain) for gain in gains), default=0.0)
    return min(MAX_PERCENT, max(5.0, 1.15 * largest))


def _not_shown(rows: list[dict[str, Any]], shown: int) -> str:
    skipped = sum(row["status"] == "skipped" for row in rows)
    failed = sum(row["status"] == "error" for row in rows)
    other = len(rows) - shown - skipped - failed
    parts = [f"{skipped} skipped"] * bool(skipped) + [f"{failed} failed"] * bool(failed)
    parts += [f"{other} without their headline metric"] * bool(other)
    return f"Not shown: {', '.join(parts)} (see results.md)." if parts else ""


def plot_headlines(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """The results picture: one line per finished row, grouped by modality, with a bar for the
    relative difference of its headline metric from the best same-run baseline.

    The difference is ``100 (value - baseline) / |baseline|`` percent, negated for a metric where
    lower is better, so a bar to the right always means the method beats its baseline; the axis
    is linear within +-``LINEAR_PERCENT`` and logarithmic beyond. The text beside each bar gives
    the metric, both values, the baseline's name and the difference. A row without a baseline
    for its headline shows an open circle and its value only. Skipped and failed rows are
    counted under the plot.

    Returns:
        The PNG path, or ``None`` when no finished row reports its headline metric.
    """
    entries = [(row, headline_of(row)) for row in rows]
    shown = [(row, headline) for row, headline in entries if headline is not None]
    if not shown:
        return None
    groups = _grouped([row for row, _ in shown])
    by_row = {id(row): headline for row, headline in shown}
    gains = [h.gain_percent for _, h in shown if h.gain_percent is not None]
    limit = _axis_limit(gains)

    lines = len(shown) + len(groups)
    height = ROW_INCHES * lines + 1.5
    width = LABELS_INCHES + PLOT_INCHES + NOTES_INCHES
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(width, height))
    figure.subplots_adjust(
        left=LABELS_INCHES / width,
        right=(LABELS_INCHES + PLOT_INCHES) / width,
        top=1 - 0.75 / height,
        bottom=0.75 / height,
    )
    ticks, labels, headers = [], [], []
    y = 0
    for shade, (modality, members) in enumerate(groups.items()):
        top = y
        ticks.append(y)
        labels.append(f"{modality} ({len(members)})")
        headers.append(len(labels) - 1)
        for row in members:
            y += 1
            headline: Headline = by_row[id(row)]
            ticks.append(y)
            labels.append(f"{row['method']} \N{MIDDLE DOT} {row['dataset']}")
            _draw_row(axis, y, headline, limit)
        if shade % 2:
            axis.axhspan(top - 0.5, y + 0.5, color="0.94", zorder=0)
        y += 1
    axis.axvline(0, color="0.3", linewidth=0.8)
    axis.set_xscale("symlog", linthresh=LINEAR_PERCENT, linscale=0.8)
    axis.set_xlim(-limit, limit)
    ticks_x = [t for t in GAIN_TICKS if t < limit]
    axis.set_xticks([-t for t in reversed(ticks_x)] + [0] + ticks_x)
    axis.xaxis.set_minor_locator(_null_locator())
    axis.set_ylim(y - 0.5, -0.5)
    axis.set_yticks(ticks, labels, fontsize=8)
    for index in headers:
        axis.get_yticklabels()[index].set_fontweight("bold")
    axis.tick_params(axis="y", length=0)
    axis.tick_params(axis="x", labelsize=8)
    axis.xaxis.set_major_formatter(lambda value, _: f"{value:+.0f}%" if value else "0")
    axis.grid(axis="x", color="0.85", linewidth=0.6)
    axis.set_axisbelow(True)
    axis.set_xlabel(
        f"relative difference from the best same-run baseline (right = better; lower-is-better "
        f"metrics flipped; linear within +-{LINEAR_PERCENT:g}%, logarithmic beyond)",
        fontsize=8,
    )
    axis.set_title(
        "Each row's headline metric against its best same-run baseline\n",
        fontsize=11,
        loc="left",
    )
    axis.text(
        0,
        1.005,
        "blue: the method beats its best baseline, orange: it does not, "
        "open circle: no baseline reports the metric",
        transform=axis.transAxes,
        fontsize=8,
        color="0.3",
        va="bottom",
    )
    footer = _not_shown(rows, len(shown))
    if footer:
        figure.text(0.01, 0.15 / height, footer, fontsize=8, color="0.3")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _null_locator() -> Any:
    from matplotlib.ticker import NullLocator

    return NullLocator()


def _draw_row(axis: Any, y: int, headline: Headline, limit: float) -> None:
    from matplotlib.transforms import blended_transform_factory

    gain = headline.gain_percent
    notes = blended_transform_factory(axis.transAxes, axis.transData)
    axis.text(
        1.01,
        y,
        describe(headline, baseline_width=28),
        transform=notes,
        fontsize=7.5,
        va="center",
        clip_on=False,
    )
    if gain is None:
        axis.plot(0, y, "o", markerfacecolor="white", markeredgecolor=NEUTRAL, markersize=5)
        return
    colour = BETTER if gain > 0 else WORSE if gain < 0 else NEUTRAL
    shown = max(-limit, min(limit, gain))
    axis.barh(y, shown, height=0.62, color=colour)
    if shown != gain:
        # Inside the bar's end: the bar runs past the axis, its value is in the text.
        axis.plot(0.8 * shown, y, ">" if gain > 0 else "<", color="white", markersize=5)


def plot_throughput(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Training samples/s of each finished row that reports it, on a log axis (the rows span
    several orders of magnitude), coloured by modality (``None`` if no row reports it)."""
    done = [row for row in rows if row["status"] == "ok" and row.get("samples_per_s", 0) > 0]
    if not done:
        return None
    groups = _grouped(done)
    plt = _pyplot()
    height = ROW_INCHES * len(done) + 1.4
    figure, axis = plt.subplots(figsize=(8.5, height))
    figure.subplots_adjust(left=0.36, right=0.97, top=1 - 0.55 / height, bottom=0.7 / height)
    y = 0
    ticks, labels = [], []
    for colour, (modality, members) in enumerate(groups.items()):
        values = [row["samples_per_s"] for row in members]
        positions = list(range(y, y + len(members)))
        axis.barh(positions, values, height=0.65, color=f"C{colour}")
        for position, value in zip(positions, values, strict=True):
            axis.text(value, position, f" {value:,.0f}", va="center", fontsize=7)
        ticks += positions
        labels += [f"{modality}/{row['method']} \N{MIDDLE DOT} {row['dataset']}" for row in members]
        y += len(members)
    axis.set_xscale("log")
    axis.set_yticks(ticks, labels, fontsize=8)
    axis.set_ylim(y - 0.5, -0.5)
    axis.tick_params(axis="x", labelsize=8)
    axis.set_xlabel("training samples/s (log scale)", fontsize=8)
    axis.set_title("Training throughput per row", fontsize=10, loc="left")
    axis.margins(x=0.15)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
