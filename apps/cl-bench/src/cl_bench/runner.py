"""Run one benchmark row: time it, measure its peak-RSS increase, and capture a failure as data."""

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
        "profile": profile,
        "seed": seed,
    }


def run_row(
    row: Row, *, profile: Profile, seed: int, data_dir: Path | None, out_dir: Path
) -> dict[str, Any]:
    """Run ``row`` and return its JSON record (``status`` is ``"ok"`` or ``"error"``).

    ``peak_mem_mb`` is the increase of the process's RSS high-water mark during the row (0 when an
    earlier row already reached a higher peak), unless the recipe reports its own figure.
    ``KeyboardInterrupt`` propagates so the caller can stop after saving the finished rows.
    """
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
        result = row.recipe.load()(context)
        if not isinstance(result, BenchResult):
            raise TypeError(f"recipe returned {type(result).__name__}, expected BenchResult")
    except KeyboardInterrupt:
        raise
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
