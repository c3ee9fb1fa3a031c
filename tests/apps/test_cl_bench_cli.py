"""cl-bench: fast --help/--list, one-line errors, a real smoke run, failing rows and Ctrl-C."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from cl_bench import main as bench_main
from cl_core.evaluation.probe_scores import DEFAULT_C_GRID
from cl_core.registry import BenchDataset, BenchRecipe, BenchResult

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


@pytest.mark.parametrize("argv", [["--help"], ["--list"]])
def test_help_and_list_import_no_heavy_library(argv: list[str]) -> None:
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
    assert "| simclr | core | digits (real) |" in (tmp_path / "results.md").read_text()
    for name in ("metrics_vs_baselines.png", "samples_per_s.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert "[1/1] core/simclr on digits: ok in" in out


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


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch):
    module = types.ModuleType("cl_bench_fake_recipes")
    module.ok = lambda context: fake_result("first")
    module.broken = raises_value_error
    module.interrupts = interrupts
    monkeypatch.setitem(sys.modules, module.__name__, module)
    toy = BenchDataset("toy", "synthesized", "generated in the test")

    def install(*runs: str) -> None:
        recipes = [
            BenchRecipe(f"m{i}", "fake", (toy,), f"{module.__name__}:{run}")
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
    assert "1 of 2 row(s) failed" in capsys.readouterr().err


def test_ctrl_c_keeps_the_finished_rows(
    fake_registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_registry("ok", "interrupts", "ok")
    assert bench_main.main(["--out", str(tmp_path)]) == 130
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["first"]
    assert "1 finished row(s) saved" in capsys.readouterr().err
