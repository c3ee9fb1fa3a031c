"""``cl-bench``: run registered contrastive-method recipes and write a table, JSON and plots.

Only the standard library and the import-light registry are imported before a row runs, so
``--help``, ``--list`` and ``--check-data`` answer at once.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from cl_bench.quiet import quiet_output
from cl_bench.selection import PROFILES, Row, select_rows, split_names
from cl_core.cli import (
    EXIT_INTERRUPTED,
    UserFacingError,
    prepare_out_dir,
    run_with_user_errors,
    timestamp,
)
from cl_core.registry import BenchRecipe

PROG = "cl-bench"
RECIPE_GROUP = "cl_bench.recipes"
EXIT_ROW_FAILED = 1
HEADLINE_PLOT = "headline_vs_baselines.png"
THROUGHPUT_PLOT = "samples_per_s.png"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Run contrastive-method recipes on built-in data and write results.json, "
            "results.md and plots (each row's headline metric vs its best baseline, samples/s) "
            "into --out. A row whose data set or tool is unavailable is skipped with the reason "
            "(see --check-data)."
        ),
    )
    parser.add_argument(
        "--list", action="store_true", help="list every method and dataset with its data card"
    )
    parser.add_argument(
        "--check-data",
        action="store_true",
        help="list every data set and tool the recipes need: available (where) or missing (how "
        "to get it); downloads nothing",
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
        help="an extra folder to look for data sets in (layout of shared/data.md); optional: "
        "data also comes from installed packages or a download into the cache",
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
            needs = f" (requires {', '.join(dataset.requires)})" if dataset.requires else ""
            print(f"  {dataset.name} [{dataset.kind}]{needs} - {dataset.card}")


def print_requirements(data_dir: Path | None) -> None:
    """Every data set and tool of :func:`cl_core.datasets.sources.all_requirements`: available
    (and where) or missing (and how to get it). Looks only; downloads nothing.

    Raises:
        UserFacingError: ``data_dir`` is given but is not a folder.
    """
    from cl_core.datasets.sources import all_requirements, requirement_status

    if data_dir is not None and not data_dir.is_dir():
        raise UserFacingError(f"--data-dir {data_dir} is not a directory")
    statuses = [requirement_status(name, data_dir) for name in all_requirements()]
    width = max((len(status.name) for status in statuses), default=0)
    print("requirements (name [dataset/tool]: available at WHERE, or missing - how to get it):")
    for status in statuses:
        if not status.available:
            state = f"missing - {status.how_to_get}"
        else:
            state = f"available at {status.where}" if status.where else "available"
        print(f"  {status.name:<{width}} [{status.kind}]: {state}")
    found = sum(status.available for status in statuses)
    print(
        f"{found} of {len(statuses)} available; a row whose requirement is missing is skipped "
        "(a data set with a public download is fetched into the cache when its row runs)"
    )


def write_outputs(out_dir: Path, run_info: dict[str, Any], records: list[dict[str, Any]]) -> None:
    from cl_bench.report import write_json, write_markdown

    write_json(out_dir, run_info, records)
    write_markdown(out_dir, run_info, records)


def write_plots(out_dir: Path, records: list[dict[str, Any]]) -> None:
    from cl_bench.plots import plot_headlines, plot_throughput

    plot_headlines(records, out_dir / HEADLINE_PLOT)
    plot_throughput(records, out_dir / THROUGHPUT_PLOT)


def outcome_text(record: dict[str, Any]) -> str:
    """How a row ended, for its progress line."""
    if record["status"] == "ok":
        return f"ok in {record['wall_time_s']:.1f}s"
    if record["status"] == "skipped":
        return f"skipped ({record['reason']})"
    return f"FAILED in {record['wall_time_s']:.1f}s ({record['error']})"


def run_rows(rows: list[Row], args: argparse.Namespace, out_dir: Path, argv: list[str]) -> int:
    from cl_bench.report import summary_line
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
    try:
        for index, row in enumerate(rows, 1):
            # Quiet rows print nothing of their own, so each row is one line: the start, then the
            # outcome once it is known. Verbose rows' logs come between, so the start is a line.
            print(f"[{index}/{len(rows)}] {row.label} ...", end="\n" if args.verbose else " ")
            sys.stdout.flush()
            with quiet_output(args.verbose):
                record = run_row(
                    row,
                    profile=args.profile,
                    seed=args.seed,
                    data_dir=args.data_dir,
                    out_dir=out_dir,
                )
            records.append(record)
            write_outputs(out_dir, run_info, records)
            prefix = f"[{index}/{len(rows)}] {row.label}: " if args.verbose else ""
            print(
                f"{prefix}{outcome_text(record)} (elapsed {time.perf_counter() - started:.1f}s)",
                flush=True,
            )
    except KeyboardInterrupt:
        if not args.verbose:
            print(flush=True)
        write_plots(out_dir, records)
        print(
            f"{PROG}: interrupted; {len(records)} finished row(s) saved in {out_dir}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    write_plots(out_dir, records)
    print(summary_line(records))
    print(f"results: {out_dir / 'results.md'}, picture: {out_dir / HEADLINE_PLOT}")
    failures = sum(record["status"] == "error" for record in records)
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
    if args.check_data:
        print_requirements(args.data_dir)
        return 0
    rows = select_rows(
        recipes,
        methods=split_names(args.methods),
        datasets=split_names(args.datasets),
        profile=args.profile,
        data_dir=args.data_dir,
    )
    out_dir = prepare_out_dir(args.out or Path("cl-bench-results") / timestamp())
    return run_rows(rows, args, out_dir, argv)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    return run_with_user_errors(PROG, lambda: run(arguments))


if __name__ == "__main__":
    sys.exit(main())
