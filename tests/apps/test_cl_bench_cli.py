"""cl-bench: fast --help/--list/--check-data, one-line errors, a real smoke run, failing and
skipped rows, the summary line and exit status, Ctrl-C, the results picture and quiet output."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest

from cl_bench import main as bench_main
from cl_bench.headline import headline_of
from cl_bench.plots import plot_headlines, plot_throughput
from cl_bench.quiet import QUIET_ENVIRONMENT, quiet_output
from cl_core.datasets import sources
from cl_core.datasets.speech_synthesis import SynthesizerUnavailableError
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID
from cl_core.registry import BenchDataset, BenchRecipe, BenchResult, discover_recipes

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
)

HEAVY = (
    "torch",
    "lightning",
    "transformers",
    "sentence_transformers",
    "torch_geometric",
    "torchaudio",
)
PROBE = """
import sys
from {module} import main
try:
    status = main({argv!r})
except SystemExit as exit:  # argparse's --help
    status = exit.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print("HEAVY:" + ",".join(heavy))
sys.exit(status)
"""


def run_light(module: str, argv: list[str]) -> subprocess.CompletedProcess:
    code = PROBE.format(module=module, argv=argv, heavy=HEAVY)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv", [["--help"], ["--list"], ["--check-data"]])
def test_help_list_and_check_data_import_no_heavy_library(argv: list[str]) -> None:
    result = run_light("cl_bench.main", argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("HEAVY:"), result.stdout[-300:]


def test_list_shows_core_methods_and_data_cards(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main.main(["--list"]) == 0
    out = capsys.readouterr().out
    for method in ("core/simclr", "core/dcl", "core/supcon"):
        assert method in out
    assert "digits [real] - real (scikit-learn digits, UCI)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--methods", "nope"], "unknown method(s) nope"),
        (["--datasets", "imagenet"], "unknown dataset(s) imagenet"),
        (
            ["--methods", "simclr", "--data-dir", "/nonexistent/data"],
            "--data-dir /nonexistent/data",
        ),
    ],
)
def test_bad_selection_is_a_one_line_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert bench_main.main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("cl-bench: error: ")
    assert message in err


def test_unwritable_out_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert bench_main.main(["--methods", "simclr", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is not a writable folder" in err


def test_smoke_run_of_a_core_recipe_writes_json_markdown_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = bench_main.main(
        ["--methods", "core/simclr", "--profile", "smoke", "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["method"], row["dataset"], row["data_kind"], row["status"]) == (
        "simclr",
        "digits",
        "real",
        "ok",
    )
    assert set(row["baselines"]) == {"raw pixels", "random-init encoder"}
    for values in (row["metrics"], *row["baselines"].values()):
        assert 0.0 <= values["knn_acc"] <= 1.0
        assert 0.0 <= values["linear_acc"] <= 1.0
        assert values["linear_c"] in DEFAULT_C_GRID, "C is chosen by CV on the training rows"
    assert row["samples_per_s"] > 0 and row["train_time_s"] > 0
    assert row["headline"] == "linear_acc" and row["higher_is_better"] is True
    assert all(row["headline"] in values for values in (row["metrics"], *row["baselines"].values()))
    table = (tmp_path / "results.md").read_text()
    assert "| simclr | core | digits (real) | linear_acc " in table
    assert "Rows: 1 ok, 0 skipped, 0 failed" in table
    for name in ("headline_vs_baselines.png", "samples_per_s.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    lines = out.splitlines()
    assert lines[0].startswith("[1/1] core/simclr on digits ... ok in"), out
    assert lines[1] == "1 ok, 0 skipped, 0 failed"


def fake_result(method: str) -> BenchResult:
    return BenchResult(
        method=method,
        modality="fake",
        dataset="toy",
        data_kind="synthesized",
        encoder="none",
        epochs=1,
        metrics={"acc": 0.5},
        baselines={"chance": {"acc": 0.1}},
        train_time_s=1.0,
        samples_per_s=10.0,
    )


def raises_value_error(context: object) -> BenchResult:
    raise ValueError("broken recipe")


def interrupts(context: object) -> BenchResult:
    raise KeyboardInterrupt


def data_goes_missing(context: object) -> BenchResult:
    raise sources.DataUnavailableError("toy-data is not available; pass --data-dir")


def no_synthesizer(context: object) -> BenchResult:
    raise SynthesizerUnavailableError("espeak-ng is not installed; apt install espeak-ng")


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch):
    module = types.ModuleType("cl_bench_fake_recipes")
    module.ok = lambda context: fake_result("first")
    module.broken = raises_value_error
    module.interrupts = interrupts
    module.data_goes_missing = data_goes_missing
    module.no_synthesizer = no_synthesizer
    monkeypatch.setitem(sys.modules, module.__name__, module)

    def install(*runs: str, requires: tuple[str, ...] = ()) -> None:
        toy = BenchDataset("toy", "synthesized", "generated in the test", requires=requires)
        recipes = [
            BenchRecipe(f"m{i}", "fake", (toy,), f"{module.__name__}:{run}", headline="acc")
            for i, run in enumerate(runs)
        ]
        monkeypatch.setattr(bench_main, "load_recipes", lambda: recipes)

    return install


def test_a_failing_recipe_is_recorded_and_the_run_continues(
    fake_registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_registry("broken", "ok")
    assert bench_main.main(["--out", str(tmp_path)]) == 1
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert rows[0]["error"] == "ValueError: broken recipe"
    assert "error: ValueError: broken recipe" in (tmp_path / "results.md").read_text()
    captured = capsys.readouterr()
    assert "1 of 2 row(s) failed" in captured.err
    assert "[1/2] fake/m0 on toy ... FAILED in" in captured.out
    assert "1 ok, 0 skipped, 1 failed" in captured.out.splitlines()


def test_ctrl_c_keeps_the_finished_rows(
    fake_registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_registry("ok", "interrupts", "ok")
    assert bench_main.main(["--out", str(tmp_path)]) == 130
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["first"]
    assert "1 finished row(s) saved" in capsys.readouterr().err


def test_a_row_with_an_unavailable_requirement_is_skipped_and_the_run_exits_0(
    fake_registry,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checked: list[tuple[str, ...]] = []

    def ensure_available(names, data_dir=None) -> None:
        checked.append(tuple(names))
        if "missing-tool" in names:
            raise sources.DataUnavailableError(
                "missing-tool is not installed (not on PATH); install it: apt install missing-tool"
            )

    monkeypatch.setattr(sources, "ensure_available", ensure_available)
    fake_registry("ok", "broken", requires=("missing-tool",))
    assert bench_main.main(["--out", str(tmp_path)]) == 0
    assert checked == [("missing-tool",), ("missing-tool",)]
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["skipped", "skipped"], "the recipe never runs"
    assert rows[0]["reason"].startswith("missing-tool is not installed (not on PATH)")
    assert "skipped: missing-tool is not installed" in (tmp_path / "results.md").read_text()
    out = capsys.readouterr().out
    assert "[1/2] fake/m0 on toy ... skipped (missing-tool is not installed" in out
    assert "0 ok, 2 skipped, 0 failed" in out.splitlines()


def test_missing_data_or_synthesizer_while_a_row_runs_skips_it(
    fake_registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_registry("data_goes_missing", "no_synthesizer", "ok")
    assert bench_main.main(["--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["skipped", "skipped", "ok"]
    assert rows[1]["reason"] == "espeak-ng is not installed; apt install espeak-ng"
    assert "1 ok, 2 skipped, 0 failed" in capsys.readouterr().out.splitlines()


def test_check_data_lists_every_requirement_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    statuses = {
        "toy-set": sources.RequirementStatus(
            "toy-set", "dataset", True, "/data/toy", "toy: pass --data-dir"
        ),
        "toy-tool": sources.RequirementStatus(
            "toy-tool", "tool", False, None, "install toy-tool: apt install toy-tool"
        ),
    }
    monkeypatch.setattr(sources, "all_requirements", lambda: list(statuses))
    monkeypatch.setattr(sources, "requirement_status", lambda name, data_dir=None: statuses[name])
    assert bench_main.main(["--check-data"]) == 0
    out = capsys.readouterr().out
    assert "  toy-set  [dataset]: available at /data/toy" in out
    assert "  toy-tool [tool]: missing - install toy-tool: apt install toy-tool" in out
    assert "1 of 2 available" in out


def test_check_data_covers_every_real_requirement(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main.main(["--check-data"]) == 0
    out = capsys.readouterr().out
    for name in sources.all_requirements():
        assert f"  {name} " in out
    needed = {name for r in discover_recipes() for d in r.datasets for name in d.requires}
    assert needed <= set(sources.all_requirements())


def test_every_registered_recipe_declares_a_headline() -> None:
    recipes = discover_recipes()
    assert recipes
    for recipe in recipes:
        assert recipe.headline, f"{recipe.modality}/{recipe.method}"
        assert isinstance(recipe.higher_is_better, bool)
    lower = {(r.modality, r.method) for r in recipes if not r.higher_is_better}
    assert {("regression", "supremix"), ("speech", "coconut")} <= lower


def test_a_recipe_without_a_headline_is_refused() -> None:
    toy = BenchDataset("toy", "synthesized", "card")
    with pytest.raises(TypeError, match="headline"):
        BenchRecipe("m", "fake", (toy,), "x:y")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="headline of recipe fake/m"):
        BenchRecipe("m", "fake", (toy,), "x:y", headline="")


def record(
    method: str,
    modality: str,
    value: float,
    baselines: dict[str, float],
    *,
    higher_is_better: bool = True,
    status: str = "ok",
) -> dict:
    return {
        "method": method,
        "modality": modality,
        "dataset": "toy",
        "status": status,
        "headline": "score",
        "higher_is_better": higher_is_better,
        "metrics": {"score": value, "linear_c": 10.0},
        "baselines": {name: {"score": v, "linear_c": 1.0} for name, v in baselines.items()},
        "samples_per_s": 100.0,
    }


def test_the_best_baseline_follows_the_headline_direction() -> None:
    higher = headline_of(record("a", "core", 0.8, {"weak": 0.5, "strong": 0.9}))
    assert (higher.baseline, higher.baseline_value) == ("strong", 0.9)
    assert higher.gain_percent == pytest.approx(100 * (0.8 - 0.9) / 0.9)
    lower = headline_of(
        record("b", "regression", 4.0, {"l1": 5.0, "l2": 6.0}, higher_is_better=False)
    )
    assert (lower.baseline, lower.baseline_value) == ("l1", 5.0)
    assert lower.gain_percent == pytest.approx(20.0), "a lower error is a gain"
    alone = headline_of(record("c", "core", 0.8, {}))
    assert alone.baseline is None and alone.gain_percent is None
    assert headline_of(record("d", "core", 0.8, {}, status="skipped")) is None


def test_the_results_picture_is_one_readable_png(tmp_path: Path) -> None:
    rows = [
        record("simclr", "vision", 0.98, {"raw pixels": 0.97, "random-init": 0.90}),
        record("symile", "multimodal", 1.0, {"pairwise-clip": 0.16}),
        record("supremix", "regression", 44.0, {"l1": 43.5}, higher_is_better=False),
        record("sirl", "rlhf", 0.9, {}),
        {"method": "gone", "modality": "text", "status": "skipped", "reason": "no data"},
    ]
    path = plot_headlines(rows, tmp_path / "headline.png")
    assert path is not None and path.read_bytes()[:4] == b"\x89PNG"
    from matplotlib.image import imread

    height, width = imread(path).shape[:2]
    assert width <= 1600 and height <= 900, "one figure at normal size, not one per metric"
    assert plot_throughput(rows, tmp_path / "speed.png") is not None


def test_no_picture_without_a_finished_row(tmp_path: Path) -> None:
    rows = [{"method": "gone", "modality": "text", "status": "error", "error": "x"}]
    assert plot_headlines(rows, tmp_path / "headline.png") is None
    assert plot_throughput(rows, tmp_path / "speed.png") is None
    assert not list(tmp_path.iterdir())


def test_quiet_output_hides_library_noise_and_restores_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in QUIET_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    summary = logging.getLogger("lightning.pytorch.callbacks.model_summary")
    level = summary.level
    with quiet_output(verbose=False):
        assert all(os.environ[name] == value for name, value in QUIET_ENVIRONMENT.items())
        assert not summary.isEnabledFor(logging.INFO)
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn_explicit(
                "`isinstance(treespec, LeafSpec)` is deprecated, use ...",
                FutureWarning,
                "_pytree.py",
                21,
                module="lightning.pytorch.utilities._pytree",
            )
            warnings.warn_explicit(
                "does not have many workers", UserWarning, "x.py", 1, module="lightning.pytorch.x"
            )
        assert caught == []
        with pytest.warns(UserWarning, match="our own"):
            warnings.warn_explicit("our own", UserWarning, "bench.py", 1, module="cl_text.bench")
    assert summary.level == level
    assert not any(name in os.environ for name in QUIET_ENVIRONMENT)
