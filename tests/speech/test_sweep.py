"""The validation sweep of COCONUT's weights, the sweep command and multi-seed bench rows."""

from __future__ import annotations

import argparse
import json

import pytest

from cl_core.registry import BenchContext
from cl_speech import bench_run, cli
from cl_speech.continual import ContinualConfig
from cl_speech.dataset import load_slu_data, validation_split
from cl_speech.sweep import SweepPoint, best_point, format_table, run_sweep, sweep_grid

TINY = ContinualConfig(num_tasks=2, epochs=1, buffer_size=8, dim=32, heads=2)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cl-train")
    cli.register(parser.add_subparsers(dest="modality"))
    return parser.parse_args(argv)


def row(name: str, method: str, score: float, forgetting: float) -> dict:
    return {
        "name": name,
        "method": method,
        "score": score,
        "forgetting": forgetting,
        "average_accuracy": score + forgetting,
        "final_accuracy": 0.5,
    }


def test_grid_is_the_cartesian_product_and_validates_its_inputs():
    points = sweep_grid([0.0, 0.2], [0.05], [0.1, 0.5])
    assert len(points) == 4 and len(set(points)) == 4
    assert SweepPoint(0.2, 0.05, 0.5) in points
    assert SweepPoint(0.05, 0.2, 0.1).name == "nspt0.05-mm0.2-tau0.1"
    with pytest.raises(ValueError, match="nspt_weights must hold at least one"):
        sweep_grid([], [0.1], [0.1])
    with pytest.raises(ValueError, match=r"mm_weights must all be >= 0, got \[-0.1\]"):
        sweep_grid([0.1], [-0.1], [0.1])
    with pytest.raises(ValueError, match=r"temperatures must all be > 0, got \[0.0\]"):
        sweep_grid([0.1], [0.1], [0.0])


def test_best_point_takes_the_highest_score_among_coconut_rows_then_lower_forgetting():
    rows = [
        row("replay", "replay", 0.9, 0.0),
        row("a", "coconut", 0.3, 0.2),
        row("b", "coconut", 0.4, 0.3),
        row("c", "coconut", 0.4, 0.1),
    ]
    assert best_point(rows)["name"] == "c"
    table = format_table(rows).splitlines()
    assert [line.split(" | ")[0] for line in table[2:]] == ["| replay", "| b", "| c", "| a"]
    with pytest.raises(ValueError, match="at least one coconut row"):
        best_point(rows[:1])


def test_sweep_scores_on_validation_writes_after_each_config_and_resumes(
    tiny_corpus, tmp_path, monkeypatch
):
    data = validation_split(load_slu_data(tiny_corpus, progress=False))
    points = sweep_grid([0.0], [0.0, 0.2], [0.1])
    rows = run_sweep(data, TINY, points, tmp_path, progress=False)
    assert [r["name"] for r in rows] == ["replay", points[0].name, points[1].name]
    assert rows[0]["method"] == "replay" and rows[0]["nspt_weight"] == rows[0]["mm_weight"] == 0
    for r in rows:
        assert r["score"] == pytest.approx(r["average_accuracy"] - r["forgetting"])
    # COCONUT with both weights 0 is replay-only: same seed, same numbers.
    assert rows[1]["forgetting"] == rows[0]["forgetting"]
    assert rows[1]["final_accuracy"] == rows[0]["final_accuracy"]
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["rows"] == rows and saved["scored_on"] == "validation voices"

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished configuration was run again")

    monkeypatch.setattr("cl_speech.continual.run_continual", must_not_run)
    assert run_sweep(data, TINY, points, tmp_path, progress=False) == rows


def test_sweep_command_parses_grids_and_reports_bad_input(tmp_path, capsys):
    args = parse(["speech", "sweep", "--data", "c", "--out", "o", "--nspt-weights", "0.01,0.2"])
    assert args.nspt_weights == [0.01, 0.2] and args.temperatures == [0.1, 0.5]
    assert args.func is cli.run_sweep
    with pytest.raises(SystemExit):
        parse(["speech", "sweep", "--data", "c", "--out", "o", "--mm-weights", "0.1,x"])
    assert "comma-separated numbers" in capsys.readouterr().err
    missing, out = str(tmp_path / "none"), str(tmp_path / "o")
    bad = parse(["speech", "sweep", "--data", missing, "--out", out, "--temperatures", "0"])
    assert cli.run_sweep(bad) == 2
    assert "temperatures must all be > 0" in capsys.readouterr().err


def test_sweep_command_end_to_end(tiny_corpus, tmp_path, capsys):
    grid = ["--nspt-weights", "0.1", "--mm-weights", "0.1", "--temperatures", "0.5"]
    budget = ["--tasks", "2", "--epochs", "1", "--buffer-size", "8"]
    args = parse(
        ["speech", "sweep", "--data", str(tiny_corpus), "--out", str(tmp_path), *budget, *grid]
    )
    assert cli.run_sweep(args) == 0
    output = capsys.readouterr().out
    assert "best on validation: --nspt-weight 0.1 --mm-weight 0.1 --temperature 0.5" in output
    assert len(json.loads((tmp_path / "sweep.json").read_text())["rows"]) == 2


def test_mean_and_std_over_seeds():
    summary = bench_run.mean_and_std([{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 2.0}])
    assert summary == pytest.approx({"a": 2.0, "a_std": 2**0.5, "b": 2.0, "b_std": 0.0})
    assert bench_run.mean_and_std([{"a": 4.0}]) == {"a": 4.0, "a_std": 0.0}
    with pytest.raises(ValueError, match="at least one summary"):
        bench_run.mean_and_std([])


def test_bench_row_runs_several_seeds_in_one_call(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("CL_SPEECH_CACHE", str(tiny_corpus.parent))
    smoke = {**bench_run._SLU_SETTINGS["smoke"], "seeds": 2}
    monkeypatch.setitem(bench_run._SLU_SETTINGS, "smoke", smoke)
    row = bench_run.run_coconut(BenchContext("fsc-synth", "smoke", 5, None, tmp_path))
    run_dir = tmp_path / "speech-fsc-synth"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["seeds"] == [5, 6]
    for seed in (5, 6):
        saved = json.loads((run_dir / f"seed{seed}" / "coconut" / "results.json").read_text())
        assert saved["config"]["seed"] == seed
        assert (run_dir / f"seed{seed}" / "accuracy.png").exists()
    assert row.metrics == summary["coconut"] and "forgetting_std" in row.metrics
    assert "seeds [5, 6]" in row.notes


def test_command_line_defaults_match_the_config_defaults():
    args = parse(["speech"])
    config = ContinualConfig()
    assert (args.nspt_weight, args.mm_weight, args.temperature) == (
        config.nspt_weight,
        config.mm_weight,
        config.temperature,
    )
    assert (args.tasks, args.epochs, args.buffer_size) == (
        config.num_tasks,
        config.epochs,
        config.buffer_size,
    )
