"""A row's headline metric next to its best same-run baseline, shared by the table and the plot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Headline:
    """The headline metric of one finished row and its best baseline (by the metric's direction).

    ``baseline`` and ``baseline_value`` are ``None`` when no baseline of the row reports the metric.
    """

    metric: str
    higher_is_better: bool
    value: float
    baseline: str | None = None
    baseline_value: float | None = None

    @property
    def gain_percent(self) -> float | None:
        """Relative difference from the baseline in percent, signed so that > 0 is better:
        ``100 (value - baseline) / |baseline|``, negated for a lower-is-better metric.

        ``None`` without a baseline, or when the baseline is 0 or not finite.
        """
        if self.baseline_value is None or not math.isfinite(self.baseline_value):
            return None
        if self.baseline_value == 0 or not math.isfinite(self.value):
            return None
        gain = 100.0 * (self.value - self.baseline_value) / abs(self.baseline_value)
        return gain if self.higher_is_better else -gain


def headline_of(record: dict[str, Any]) -> Headline | None:
    """The :class:`Headline` of a finished row's record; ``None`` for a row that did not finish
    or whose metrics lack its headline."""
    metric = record.get("headline")
    if record.get("status") != "ok" or not metric or metric not in record["metrics"]:
        return None
    higher = bool(record.get("higher_is_better", True))
    candidates = {
        name: values[metric] for name, values in record["baselines"].items() if metric in values
    }
    if not candidates:
        return Headline(metric, higher, record["metrics"][metric])
    pick = max if higher else min
    best = pick(candidates, key=candidates.__getitem__)
    return Headline(metric, higher, record["metrics"][metric], best, candidates[best])


def format_number(value: float) -> str:
    """Three significant digits, as the table shows every metric."""
    return f"{value:.3g}"


def describe(headline: Headline, *, baseline_width: int | None = None) -> str:
    """``"linear_acc 0.981 vs 0.975 (raw pixels), +0.6%"``; a lower-is-better metric is marked
    ``(lower is better)``. ``baseline_width`` shortens a long baseline name with an ellipsis."""
    direction = "" if headline.higher_is_better else " (lower is better)"
    text = f"{headline.metric}{direction} {format_number(headline.value)}"
    if headline.baseline is None:
        return text + ", no same-run baseline"
    name = headline.baseline
    if baseline_width is not None and len(name) > baseline_width:
        name = name[: baseline_width - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"
    text += f" vs {format_number(headline.baseline_value)} ({name})"
    gain = headline.gain_percent
    return text if gain is None else f"{text}, {gain:+.1f}%"
