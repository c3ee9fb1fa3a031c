"""Run one benchmark row: check its data, time it, measure its peak-RSS increase, and capture a
missing requirement (``skipped``) or a failure (``error``) as data."""

from __future__ import annotations

import resource
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cl_bench.selection import Row
from cl_core.registry import BenchContext, BenchResult, Profile


def peak_rss_mb() -> float:
    """High-water resident set size of this process in MiB (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def base_record(row: Row, profile: str, seed: int) -> dict[str, Any]:
    """The fields every row has, whatever its outcome."""
    return {
        "method": row.recipe.method,
        "modality": row.recipe.modality,
        "dataset": row.dataset.name,
        "data_kind": row.dataset.kind,
        "data_card": row.dataset.card,
        "paper": row.recipe.paper,
        "headline": row.recipe.headline,
        "higher_is_better": row.recipe.higher_is_better,
        "profile": profile,
        "seed": seed,
    }


def one_line(error: BaseException) -> str:
    """The error's message on one line (what a skipped row shows)."""
    return " ".join(str(error).split()) or type(error).__name__


def run_row(
    row: Row, *, profile: Profile, seed: int, data_dir: Path | None, out_dir: Path
) -> dict[str, Any]:
    """Run ``row`` and return its JSON record (``status``: ``"ok"``, ``"skipped"`` or ``"error"``).

    The row's requirements (:attr:`~cl_core.registry.BenchDataset.requires`) are made available
    first (:func:`cl_core.datasets.sources.ensure_available`: found, or downloaded where possible).
    A requirement that stays unavailable - before or while the row runs - makes it ``skipped``,
    with the one-line reason under ``reason``; any other exception makes it ``error``.

    ``peak_mem_mb`` is the increase of the process's RSS high-water mark during the row (0 when an
    earlier row already reached a higher peak), unless the recipe reports its own figure.
    ``KeyboardInterrupt`` propagates so the caller can stop after saving the finished rows.
    """
    from cl_core.datasets.sources import DataUnavailableError, ensure_available
    from cl_core.datasets.speech_synthesis import SynthesizerUnavailableError

    record = base_record(row, profile, seed)
    context = BenchContext(
        dataset=row.dataset.name,
        profile=profile,
        seed=seed,
        data_dir=data_dir,
        out_dir=out_dir,
    )
    peak_before = peak_rss_mb()
    started = time.perf_counter()
    try:
        ensure_available(row.dataset.requires, data_dir)
        result = row.recipe.load()(context)
        if not isinstance(result, BenchResult):
            raise TypeError(f"recipe returned {type(result).__name__}, expected BenchResult")
    except KeyboardInterrupt:
        raise
    except (DataUnavailableError, SynthesizerUnavailableError) as missing:
        record.update(
            status="skipped", reason=one_line(missing), wall_time_s=time.perf_counter() - started
        )
        return record
    except Exception as error:
        record.update(
            status="error",
            error=f"{type(error).__name__}: {error}",
            traceback=traceback.format_exc(limit=8),
            wall_time_s=time.perf_counter() - started,
        )
        return record
    fields = asdict(result)
    if not fields["peak_mem_mb"]:
        fields["peak_mem_mb"] = max(0.0, peak_rss_mb() - peak_before)
    record.update(fields)
    record.update(status="ok", wall_time_s=time.perf_counter() - started)
    return record
