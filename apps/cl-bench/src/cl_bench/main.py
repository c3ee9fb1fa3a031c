"""``cl-bench``: run registered contrastive-method recipes and write a table, JSON and plots.

Only the standard library and the import-light registry are imported before a row runs, so
``--help`` and ``--list`` answer at once.
"""

from __future__ import annotations

import argparse
import logging
import platform
import shlex
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from cl_bench.selection import PROFILES, Row, select_rows, split_names
from cl_core.cli import (
    EXIT_INTERRUPTED,
    prepare_out_dir,
    run_with_user_errors,
    timestamp,
)
from cl_core.registry import BenchRecipe

PROG = "cl-bench"
RECIPE_GROUP = "cl_bench.recipes"
EXIT_ROW_FAILED = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Run contrastive-method recipes on built-in data and write results.json, "
            "results.md and "
            "plots (metrics vs baselines, samples/s) into --out."
        ),
    )
    parser.add_argument(
        "--list", action="store_true", help="list every method and dataset with its data card"
    )
    parser.add_argument(
        "--methods",
        action="append",
        metavar="NAMES",
        help="comma-separated methods, plain (simclr) or with their modality (core/simclr) "
        "(default: all)",
    )
    parser.add_argument(
        "--datasets",
        action="append",
        metavar="NAMES",
        help="comma-separated datasets (default: each method's first dataset)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="quick",
        help="quick (under 3 min per row, all rows about 20 min on 2 cores), full (the papers' "
        "small-scale settings, more seeds), or smoke (a sanity run, numbers meaningless) "
        "(default: quick)",
    )
    parser.add_argument("--seed", type=int, default=0, help="base random seed (default: 0)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder of the shared data sets (shared/data.md), for datasets that need it",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: ./cl-bench-results/<timestamp>)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the training libraries' logs")
    return parser


def load_recipes() -> list[BenchRecipe]:
    """Every registered recipe; a package whose entry point fails to load is reported, not fatal."""
    recipes: list[BenchRecipe] = []
    for entry_point in sorted(entry_points(group=RECIPE_GROUP), key=lambda e: e.name):
        try:
            recipes.extend(entry_point.load())
        except Exception as error:
            print(
                f"{PROG}: warning: recipes of {entry_point.name!r} are unavailable "
                f"({type(error).__name__}: {error})",
                file=sys.stderr,
            )
    return recipes


def print_listing(recipes: list[BenchRecipe]) -> None:
    print("methods (modality/method: datasets [profiles] - paper):")
    for recipe in recipes:
        names = ", ".join(d.name for d in recipe.datasets)
        print(
            f"  {recipe.modality}/{recipe.method}: {names} "
            f"[{', '.join(recipe.profiles)}] - {recipe.paper}"
        )
    print("\ndatasets (name [real/synthesized] - data card):")
    seen: set[str] = set()
    for recipe in recipes:
        for dataset in recipe.datasets:
            if dataset.name in seen:
                continue
            seen.add(dataset.name)
            needs = " (needs --data-dir)" if dataset.needs_data_dir else ""
            print(f"  {dataset.name} [{dataset.kind}]{needs} - {dataset.card}")


def quiet_training_logs() -> None:
    """Hide Lightning's per-run info lines (devices, tips, "fit stopped"); warnings still show.

    Lightning resets the level of ``lightning.pytorch`` when it is imported, so the level is set
    on the loggers that emit those lines, which it leaves alone.
    """
    for name in (
        "lightning.pytorch.utilities.rank_zero",
        "lightning.fabric.utilities.rank_zero",
        "lightning.pytorch.accelerators.cuda",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


def write_outputs(out_dir: Path, run_info: dict[str, Any], records: list[dict[str, Any]]) -> None:
    from cl_bench.report import write_json, write_markdown

    write_json(out_dir, run_info, records)
    write_markdown(out_dir, run_info, records)


def write_plots(out_dir: Path, records: list[dict[str, Any]]) -> None:
    from cl_bench.plots import plot_metrics_vs_baselines, plot_throughput

    plot_metrics_vs_baselines(records, out_dir / "metrics_vs_baselines.png")
    plot_throughput(records, out_dir / "samples_per_s.png")


def run_rows(rows: list[Row], args: argparse.Namespace, out_dir: Path, argv: list[str]) -> int:
    from cl_bench.runner import run_row

    run_info = {
        "command": shlex.join([PROG, *argv]),
        "profile": args.profile,
        "seed": args.seed,
        "started": timestamp(),
        "host": f"{platform.node()} ({platform.machine()}, Python {platform.python_version()})",
    }
    records: list[dict[str, Any]] = []
    write_outputs(out_dir, run_info, records)
    started = time.perf_counter()
    failures = 0
    try:
        for index, row in enumerate(rows, 1):
            print(f"[{index}/{len(rows)}] {row.label} ...", flush=True)
            record = run_row(
                row, profile=args.profile, seed=args.seed, data_dir=args.data_dir, out_dir=out_dir
            )
            records.append(record)
            write_outputs(out_dir, run_info, records)
            outcome = "ok" if record["status"] == "ok" else f"FAILED ({record['error']})"
            print(
                f"[{index}/{len(rows)}] {row.label}: {outcome} in {record['wall_time_s']:.1f}s "
                f"(elapsed {time.perf_counter() - started:.1f}s)",
                flush=True,
            )
            failures += record["status"] != "ok"
    except KeyboardInterrupt:
        write_plots(out_dir, records)
        print(
            f"{PROG}: interrupted; {len(records)} finished row(s) saved in {out_dir}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    write_plots(out_dir, records)
    print(f"results: {out_dir / 'results.md'}")
    if failures:
        print(
            f"{PROG}: error: {failures} of {len(rows)} row(s) failed (see results.md)",
            file=sys.stderr,
        )
        return EXIT_ROW_FAILED
    return 0


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    recipes = load_recipes()
    if args.list:
        print_listing(recipes)
        return 0
    rows = select_rows(
        recipes,
        methods=split_names(args.methods),
        datasets=split_names(args.datasets),
        profile=args.profile,
        data_dir=args.data_dir,
    )
    out_dir = prepare_out_dir(args.out or Path("cl-bench-results") / timestamp())
    if not args.verbose:
        quiet_training_logs()
    return run_rows(rows, args, out_dir, argv)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    return run_with_user_errors(PROG, lambda: run(arguments))


if __name__ == "__main__":
    sys.exit(main())
