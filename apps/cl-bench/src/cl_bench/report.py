"""Write ``results.json`` (atomically, after every row) and ``results.md`` (a Markdown table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cl_bench.headline import describe, headline_of
from cl_core.io import atomic_write_text

#: A row's ``status``: finished, skipped for a missing data set or tool, or failed.
STATUSES = ("ok", "skipped", "error")


def write_json(out_dir: Path, run_info: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """``results.json``: ``{"run": run_info, "rows": rows}``."""
    path = out_dir / "results.json"
    atomic_write_text(
        path, json.dumps({"run": run_info, "rows": rows}, indent=2, default=str) + "\n"
    )
    return path


def _format_numbers(values: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.3g}" for name, value in values.items())


def _format_baselines(baselines: dict[str, dict[str, float]]) -> str:
    return "; ".join(f"{name}: {_format_numbers(values)}" for name, values in baselines.items())


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _headline_cell(row: dict[str, Any]) -> str:
    headline = headline_of(row)
    if headline is None:
        return f"{row['headline']} missing from the metrics"
    return _cell(describe(headline))


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The benchmark rows as a Markdown table (one line per row, skipped and failed ones too).

    The headline column gives the recipe's headline metric, its best same-run baseline (by the
    metric's direction) and the relative difference, signed so that + is better.
    """
    header = (
        "| method | modality | dataset (data) | headline vs best baseline (same run) | encoder "
        "| epochs | metrics | baselines (same run) | train s | samples/s | peak MB | status |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        dataset = f"{row['dataset']} ({row['data_kind']})"
        if row["status"] != "ok":
            status = (
                f"skipped: {row['reason']}"
                if row["status"] == "skipped"
                else f"error: {row['error']}"
            )
            lines.append(
                f"| {row['method']} | {row['modality']} | {dataset} | | | | | | | | "
                f"| {_cell(status)} |"
            )
            continue
        lines.append(
            f"| {row['method']} | {row['modality']} | {dataset} | {_headline_cell(row)} "
            f"| {row['encoder']} | {row['epochs']:g} "
            f"| {_format_numbers(row['metrics'])} | {_format_baselines(row['baselines'])} "
            f"| {row['train_time_s']:.1f} | {row['samples_per_s']:.0f} "
            f"| {row['peak_mem_mb']:.0f} | ok |"
        )
    return header + "\n".join(lines) + "\n"


def summary_line(rows: list[dict[str, Any]]) -> str:
    """``"N ok, N skipped, N failed"``."""
    count = {status: sum(row["status"] == status for row in rows) for status in STATUSES}
    return f"{count['ok']} ok, {count['skipped']} skipped, {count['error']} failed"


def write_markdown(out_dir: Path, run_info: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """``results.md``: how the run was made, the table, and the data cards."""
    cards = {f"{row['dataset']}": row["data_card"] for row in rows}
    text = (
        "# cl-bench results\n\n"
        f"Command: `{run_info['command']}`  \n"
        f"Profile: {run_info['profile']}, seed {run_info['seed']}, "
        f"started {run_info['started']} UTC, "
        f"{run_info['host']}  \n"
        f"Rows: {summary_line(rows)}\n\n"
        + markdown_table(rows)
        + "\n## Data cards\n\n"
        + "".join(f"- **{name}**: {card}\n" for name, card in cards.items())
    )
    path = out_dir / "results.md"
    atomic_write_text(path, text)
    return path
