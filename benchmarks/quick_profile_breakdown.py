"""Where the CPU time of ``cl-bench`` rows goes: imports, engine start-up, data, training,
checkpoints, evaluation and baselines, per row, in one process (as ``cl-bench`` runs them).

Run, for example::

    uv run --no-sync python benchmarks/quick_profile_breakdown.py \\
        --methods core/simclr,vision/simclr,text/simcse-sup --data-dir ../shared/data \\
        --out benchmarks/results/quick_profile_breakdown

Every row runs through ``cl_bench.runner.run_row`` (the code ``cl-bench`` runs), under its quiet
output. Phase timers wrap the functions below (no source change); each phase is charged its
*exclusive* CPU seconds of this process (``time.process_time``: every thread, so numbers are
comparable on a loaded machine, unlike wall time), nested phases are charged to themselves:

- ``import``: ``import`` statements and ``importlib.import_module`` of modules not yet loaded
  (the first row of a modality pays its stack; ``--preimport`` charges the bench modules to a
  separate ``imports <modality>`` line first);
- ``engine``: ``lightning.pytorch.Trainer.__init__`` (engine start-up per fit);
- ``train``: ``Trainer.fit`` minus what is nested in it; ``checkpoint``: ``Trainer.save_checkpoint``
  and the sentence encoder's ``save``;
- ``data``: the loaders (digits, image splits, STS, Lee, training sentences and examples);
- ``model``: building / loading models (``build_module``, ``load_sentence_encoder``);
- ``eval``: probes and STS/Lee of the trained model (``frozen_probe_scores``, ``evaluate_sts``,
  ``evaluate_lee``); ``cv`` is the C-grid search inside them (``choose_inverse_regularization``);
- ``baseline``: everything inside a row's baselines (vision ``_baselines``, core's
  random-init and raw-pixel probes, text's base-encoder STS), whatever it calls;
- ``other``: the rest of the row.

With ``--cprofile`` each row's cProfile statistics are written too (``<row>.pstats``; cProfile
slows Python-heavy code, so its totals exceed the timers'). Writes ``breakdown.json`` and
``breakdown.md`` into ``--out``. Not a test: it trains the rows.
"""

from __future__ import annotations

import argparse
import builtins
import cProfile
import functools
import importlib
import json
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

COLUMNS = (
    "import",
    "engine",
    "data",
    "model",
    "train",
    "checkpoint",
    "eval",
    "cv",
    "baseline",
    "other",
)
#: Bench modules imported up front with ``--preimport`` (in this order, each line its increment).
MODALITY_MODULES = {
    "core": "cl_core.recipes.digits_bench",
    "vision": "cl_vision.bench_run",
    "text": "cl_text.bench_run",
}


class PhaseClock:
    """A stack of phases; every transition charges the CPU time since the last one to the path."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.totals: dict[tuple[str, ...], float] = defaultdict(float)
        self.last = time.process_time()

    def _charge(self) -> None:
        now = time.process_time()
        self.totals[tuple(self.stack)] += now - self.last
        self.last = now

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._charge()
        self.stack.append(name)
        try:
            yield
        finally:
            self._charge()
            self.stack.pop()

    def take(self) -> dict[tuple[str, ...], float]:
        """The totals since the last call (and reset them)."""
        self._charge()
        totals, self.totals = dict(self.totals), defaultdict(float)
        return totals


CLOCK = PhaseClock()


def column_of(path: tuple[str, ...]) -> str:
    """The table column of a phase path (imports first, then baselines, then the innermost)."""
    if "import" in path:
        return "import"
    if "baseline" in path:
        return "baseline"
    for name in reversed(path):
        if name in COLUMNS:
            return name
    return "other"


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(function, "_phase_timed", False):
        return function

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with CLOCK.phase(name):
            return function(*args, **kwargs)

    wrapper._phase_timed = True  # type: ignore[attr-defined]
    return wrapper


def patch(module_name: str, attribute: str, phase: str) -> None:
    """Wrap ``module.attribute`` (a function or a class's method, ``Class.method``) if present."""
    module = sys.modules.get(module_name)
    if module is None:
        return  # not imported yet: patched right after its import (see install_import_timer)
    owner: Any = module
    *parents, leaf = attribute.split(".")
    for parent in parents:
        owner = getattr(owner, parent, None)
        if owner is None:
            return
    function = getattr(owner, leaf, None)
    if function is not None:
        setattr(owner, leaf, timed(phase, function))


def install_import_timer() -> None:
    original_import = builtins.__import__
    original_import_module = importlib.import_module

    def timed_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name in sys.modules:
            return original_import(name, *args, **kwargs)
        with CLOCK.phase("import"):
            module = original_import(name, *args, **kwargs)
        install_patches()
        return module

    def timed_import_module(name: str, package: str | None = None) -> Any:
        if name in sys.modules:
            return original_import_module(name, package)
        with CLOCK.phase("import"):
            module = original_import_module(name, package)
        install_patches()
        return module

    builtins.__import__ = timed_import
    importlib.import_module = timed_import_module


#: (module, attribute, phase): wrapped where the bench code looks them up.
PATCHES = (
    ("lightning.pytorch", "Trainer.__init__", "engine"),
    ("lightning.pytorch", "Trainer.fit", "train"),
    ("lightning.pytorch", "Trainer.save_checkpoint", "checkpoint"),
    ("sentence_transformers", "SentenceTransformer.save", "checkpoint"),
    ("cl_core.recipes.digits_bench", "load_digits_split", "data"),
    ("cl_core.recipes.digits_bench", "build_module", "model"),
    ("cl_core.recipes.core_methods", "build_module", "model"),
    ("cl_core.recipes.digits_bench", "digits_baselines", "baseline"),
    ("cl_core.evaluation.subsampled_probe", "choose_inverse_regularization", "cv"),
    ("cl_vision.bench_run", "load_image_split", "data"),
    ("cl_vision.bench_run", "_load", "data"),
    ("cl_vision.bench_run", "build_module", "model"),
    ("cl_vision.training", "build_module", "model"),
    ("cl_vision.bench_run", "_baselines", "baseline"),
    ("cl_vision.evaluation", "frozen_probe_scores", "eval"),
    ("cl_text.data", "load_sts_benchmarks", "data"),
    ("cl_text.data", "load_lee_corpus", "data"),
    ("cl_text.training", "read_training_data", "data"),
    ("cl_text.training", "prepare_examples", "data"),
    ("cl_text.encoder", "load_sentence_encoder", "model"),
    ("cl_text.bench_run", "_base_encoder_scores", "baseline"),
    ("cl_text.bench_run", "base_encoder_scores", "baseline"),
    ("cl_text.training", "evaluate_sts", "eval"),
    ("cl_text.training", "evaluate_lee", "eval"),
    ("cl_text.data", "read_labelled_texts", "data"),
)


def core_probe_counter() -> None:
    """Core rows probe inline (trained, then random-init, then raw pixels): count the calls."""
    module = sys.modules.get("cl_core.recipes.digits_bench")
    if module is None or not hasattr(module, "frozen_probe_scores"):
        return  # not imported yet, or still being imported
    original = module.frozen_probe_scores
    if getattr(original, "_phase_timed", False):
        return
    calls = {"n": 0}

    @functools.wraps(original)
    def counted(*args: Any, **kwargs: Any) -> Any:
        # Decided per call: this runs while the module may still be half imported.
        if hasattr(module, "digits_baselines"):
            phase = "eval"  # the baselines have their own function (patched as ``baseline``)
        else:
            calls["n"] += 1
            phase = "eval" if calls["n"] % 3 == 1 else "baseline"
        with CLOCK.phase(phase):
            return original(*args, **kwargs)

    counted._phase_timed = True  # type: ignore[attr-defined]
    module.frozen_probe_scores = counted


def install_patches() -> None:
    for module_name, attribute, phase in PATCHES:
        patch(module_name, attribute, phase)
    core_probe_counter()


def headline_of(record: dict[str, Any]) -> Any:
    metrics = record.get("metrics") or {}
    return metrics.get(record.get("headline")) if record.get("headline") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", action="append", required=True, help="as cl-bench --methods")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--preimport",
        action="store_true",
        help="import each modality's bench module first, as its own line",
    )
    parser.add_argument("--cprofile", action="store_true", help="also write cProfile stats per row")
    args = parser.parse_args(argv)

    started_cpu = time.process_time()
    install_import_timer()
    from cl_bench.main import load_recipes
    from cl_bench.quiet import quiet_output
    from cl_bench.runner import run_row
    from cl_bench.selection import select_rows, split_names

    args.out.mkdir(parents=True, exist_ok=True)
    rows = select_rows(
        load_recipes(),
        methods=split_names(args.methods),
        datasets=[],
        profile=args.profile,
        data_dir=args.data_dir,
    )
    lines: list[dict[str, Any]] = []
    lines.append({"row": "start-up (cl-bench, registry)", "status": "-", **_columns(CLOCK.take())})
    if args.preimport:
        for modality in dict.fromkeys(row.recipe.modality for row in rows):
            if modality in MODALITY_MODULES:
                with CLOCK.phase("import"):
                    importlib.import_module(MODALITY_MODULES[modality])
                lines.append(
                    {"row": f"imports {modality}", "status": "-", **_columns(CLOCK.take())}
                )
    install_patches()
    for row in rows:
        CLOCK.take()
        profiler = cProfile.Profile() if args.cprofile else None
        wall = time.perf_counter()
        with quiet_output(False):
            if profiler is not None:
                profiler.enable()
            record = run_row(
                row, profile=args.profile, seed=args.seed, data_dir=args.data_dir, out_dir=args.out
            )
            if profiler is not None:
                profiler.disable()
        wall = time.perf_counter() - wall
        totals = CLOCK.take()
        if profiler is not None:
            profiler.dump_stats(args.out / f"{row.label.replace('/', '_')}.pstats")
        line = {
            "row": row.label,
            "status": record["status"],
            "wall_s": wall,
            "headline": headline_of(record),
            **_columns(totals),
            "paths": _paths(totals),
            "metrics": record.get("metrics"),
            "baselines": record.get("baselines"),
            "reason": record.get("reason") or record.get("error"),
        }
        lines.append(line)
        print(
            f"{row.label}: {record['status']} cpu {line['total']:.1f}s "
            + " ".join(f"{c}={line[c]:.1f}" for c in COLUMNS if line[c] >= 0.05),
            flush=True,
        )
        _write(args, lines, started_cpu)
    _write(args, lines, started_cpu)
    return 0


def _paths(totals: dict[tuple[str, ...], float]) -> dict[str, float]:
    """Seconds per phase path; a phase nested in itself is shown once (``eval>import``)."""
    paths: dict[str, float] = defaultdict(float)
    for path, seconds in totals.items():
        names = [name for i, name in enumerate(path) if i == 0 or name != path[i - 1]]
        paths[">".join(names) or "(row)"] += seconds
    return dict(sorted(paths.items(), key=lambda item: -item[1]))


def _columns(totals: dict[tuple[str, ...], float]) -> dict[str, float]:
    columns = dict.fromkeys(COLUMNS, 0.0)
    for path, seconds in totals.items():
        columns[column_of(path)] += seconds
    # ``cv`` is also shown inside ``baseline``: report the grid search wherever it ran.
    columns["cv_all"] = sum(seconds for path, seconds in totals.items() if "cv" in path)
    columns["total"] = sum(totals.values())
    return columns


def _write(args: argparse.Namespace, lines: list[dict[str, Any]], started_cpu: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    info = {
        "command": " ".join(sys.argv),
        "profile": args.profile,
        "seed": args.seed,
        "process_cpu_s": time.process_time() - started_cpu,
        "ru_utime_s": usage.ru_utime,
        "ru_stime_s": usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }
    (args.out / "breakdown.json").write_text(
        json.dumps({"run": info, "rows": lines}, indent=2, default=str) + "\n"
    )
    header = ["row", "status", *COLUMNS, "cv_all", "total", "headline"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for line in lines:
        cells = [line["row"], line["status"]]
        cells += [f"{line[c]:.1f}" for c in (*COLUMNS, "cv_all", "total")]
        headline = line.get("headline")
        cells.append(f"{headline:.4f}" if isinstance(headline, float) else "")
        table.append("| " + " | ".join(cells) + " |")
    sums = [sum(line[c] for line in lines) for c in (*COLUMNS, "cv_all", "total")]
    table.append("| **sum** | | " + " | ".join(f"{s:.1f}" for s in sums) + " | |")
    text = (
        "CPU seconds of this process (`time.process_time`, all threads) per phase; `cv` is the "
        "C-grid search inside the method's own probes, `cv_all` the grid search anywhere "
        "(baselines included).\n\n"
        f"Command: `{info['command']}`; process CPU {info['process_cpu_s']:.1f} s "
        f"(user {usage.ru_utime:.1f} s, system {usage.ru_stime:.1f} s), peak RSS "
        f"{info['peak_rss_mb']:.0f} MiB.\n\n" + "\n".join(table) + "\n"
    )
    (args.out / "breakdown.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
