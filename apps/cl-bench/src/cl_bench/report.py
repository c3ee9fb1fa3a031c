"""Write ``results.json`` (atomically, after every row) and ``results.md`` (a Markdown table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cl_core.io import atomic_write_text


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


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The benchmark rows as a Markdown table (one line per row, failures included)."""
    header = (
        "| method | modality | dataset (data) | encoder | epochs | metrics | baselines (same run) "
        "| train s | samples/s | peak MB | status |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        dataset = f"{row['dataset']} ({row['data_kind']})"
        if row["status"] != "ok":
            status = f"error: {row['error']}".replace("|", "/").replace("\n", " ")
            lines.append(
                f"| {row['method']} | {row['modality']} | {dataset} | | | | | | | | {status} |"
            )
            continue
        lines.append(
            f"| {row['method']} | {row['modality']} | {dataset} | {row['encoder']} "
            f"| {row['epochs']:g} "
            f"| {_format_numbers(row['metrics'])} | {_format_baselines(row['baselines'])} "
            f"| {row['train_time_s']:.1f} | {row['samples_per_s']:.0f} "
            f"| {row['peak_mem_mb']:.0f} | ok |"
        )
    return header + "\n".join(lines) + "\n"


def write_markdown(out_dir: Path, run_info: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """``results.md``: how the run was made, the table, and the data cards."""
    cards = {f"{row['dataset']}": row["data_card"] for row in rows}
    text = (
        "# cl-bench results\n\n"
        f"Command: `{run_info['command']}`  \n"
        f"Profile: {run_info['profile']}, seed {run_info['seed']}, "
        f"started {run_info['started']} UTC, "
        f"{run_info['host']}\n\n"
        + markdown_table(rows)
        + "\n## Data cards\n\n"
        + "".join(f"- **{name}**: {card}\n" for name, card in cards.items())
    )
    path = out_dir / "results.md"
    atomic_write_text(path, text)
    return path
