"""The validation sweep of COCONUT's weights, the sweep command and multi-seed bench rows."""

from __future__ import annotations

import argparse
import json
import statistics

import pytest

from cl_core.registry import BenchContext
from cl_speech import bench_run, cli
from cl_speech.continual import ContinualConfig
from cl_speech.dataset import load_slu_data, validation_split
from cl_speech.sweep import (
    SweepPoint,
    best_point,
    format_table,
    run_sweep,
    summarize_runs,
    sweep_grid,
)

TINY = ContinualConfig(num_tasks=2, epochs=1, buffer_size=8, dim=32, heads=2)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cl-train")
    cli.register(parser.add_subparsers(dest="modality"))
    return parser.parse_args(argv)


def run(name: str, seed: int, forgetting: float, average_accuracy: float) -> dict:
    return {
        "name": name,
        "method": "replay" if name == "replay" else "coconut",
        "seed": seed,
        "nspt_weight": 0.1,
        "mm_weight": 0.2,
        "temperature": 0.5,
        "final_accuracy": 0.5,
        "average_accuracy": average_accuracy,
        "forgetting": forgetting,
        "final_wer": 0.3,
        "train_time_s": 1.0,
    }


def row(name: str, forgetting: float, average_accuracy: float, seeds=(0, 1, 2)) -> dict:
    return {
        "name": name,
        "method": "replay" if name == "replay" else "coconut",
        "seeds": list(seeds),
        "forgetting": forgetting,
        "average_accuracy": average_accuracy,
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


def test_summarize_runs_gives_mean_and_sample_std_over_seeds_per_config():
    runs = [run("a", 2, 0.3, 0.5), run("replay", 0, 0.1, 0.4), run("a", 0, 0.1, 0.7)]
    rows = summarize_runs(runs)
    assert [r["name"] for r in rows] == ["a", "replay"]
    assert rows[0]["seeds"] == [0, 2]
    assert rows[0]["forgetting"] == pytest.approx(0.2)
    assert rows[0]["forgetting_std"] == pytest.approx(statistics.stdev([0.1, 0.3]))
    assert rows[0]["average_accuracy"] == pytest.approx(0.6)
    assert rows[1]["seeds"] == [0] and rows[1]["forgetting_std"] == 0.0


def test_best_point_is_the_lowest_mean_forgetting_among_fully_run_coconut_rows():
    rows = [
        row("replay", 0.01, 0.50),
        row("forgets-more", 0.20, 0.60),
        row("tie-less-accurate", 0.12, 0.40),
        row("best", 0.12, 0.50),
        row("one-seed-only", 0.00, 0.90, seeds=(0,)),
    ]
    # replay is the reference, not a candidate; one-seed-only has fewer seeds than the others.
    assert best_point(rows)["name"] == "best"
    assert best_point(rows[:3])["name"] == "tie-less-accurate"
    with pytest.raises(ValueError, match="at least one coconut row"):
        best_point(rows[:1])


def test_table_is_sorted_by_forgetting_and_shows_std():
    rows = summarize_runs([run("b", 0, 0.3, 0.5), run("a", 0, 0.1, 0.5), run("a", 1, 0.3, 0.5)])
    table = format_table(rows).splitlines()
    assert [line.split(" | ")[0] for line in table[2:]] == ["| a", "| b"]
    assert "| 2 | 0.200+-0.141 |" in table[2]


def test_sweep_checks_seeds_and_shard(tmp_path):
    with pytest.raises(ValueError, match="seeds must hold at least one seed"):
        run_sweep(lambda seed: None, TINY, [], [], tmp_path)
    with pytest.raises(ValueError, match=r"seeds must be distinct, got \[1, 1\]"):
        run_sweep(lambda seed: None, TINY, [], [1, 1], tmp_path)
    with pytest.raises(ValueError, match=r"shard must be \(i, n\) with 0 <= i < n, got \(2, 2\)"):
        run_sweep(lambda seed: None, TINY, [], [0], tmp_path, shard=(2, 2))


def test_sweep_runs_every_config_and_seed_on_validation_and_replay_is_the_zero_point(
    tiny_corpus, tmp_path
):
    loaded = []

    def load_validation(seed: int):
        loaded.append(seed)
        return validation_split(load_slu_data(tiny_corpus, seed=seed, progress=False), seed=seed)

    points = sweep_grid([0.0], [0.0], [0.1])
    rows = run_sweep(load_validation, TINY, points, [0, 1], tmp_path, progress=False)
    assert loaded == [0, 1]
    assert [r["name"] for r in rows] == [points[0].name, "replay"]
    assert all(r["seeds"] == [0, 1] for r in rows)
    for seed in (0, 1):
        replay = json.loads((tmp_path / "runs" / f"replay-seed{seed}.json").read_text())
        zero = json.loads((tmp_path / "runs" / f"{points[0].name}-seed{seed}.json").read_text())
        assert replay["seed"] == zero["seed"] == seed and replay["method"] == "replay"
        # COCONUT with both weights 0 is replay-only: same seed, same numbers.
        assert zero["forgetting"] == replay["forgetting"]
        assert zero["final_accuracy"] == replay["final_accuracy"]
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["rows"] == rows and saved["scored_on"] == "validation voices"


def test_sweep_resumes_per_config_and_seed_and_shards_split_the_jobs(tmp_path, monkeypatch):
    calls = []

    class FakeResult:
        train_time_s = 1.0

        def __init__(self, config):
            self.config = config

        def summary(self):
            forgetting = self.config.nspt_weight + self.config.seed
            return {
                "final_accuracy": 0.5,
                "average_accuracy": 0.5,
                "forgetting": forgetting,
                "final_wer": 0.2,
            }

    def fake_run(data, config, progress):
        calls.append((config.method, config.nspt_weight, config.seed))
        return FakeResult(config)

    monkeypatch.setattr("cl_speech.continual.run_continual", fake_run)
    points = sweep_grid([0.1, 0.2], [0.0], [0.5])
    run_sweep(lambda seed: seed, TINY, points, [0, 1], tmp_path, shard=(0, 2), progress=False)
    first = list(calls)
    rows = run_sweep(lambda seed: seed, TINY, points, [0, 1], tmp_path, shard=(1, 2))
    assert len(first) == 3 and len(calls) == 6 and len(set(calls)) == 6
    assert {r["name"]: r["forgetting"] for r in rows} == pytest.approx(
        {"replay": 0.5, points[0].name: 0.6, points[1].name: 0.7}
    )
    (tmp_path / "runs" / f"{points[1].name}-seed1.json").unlink()
    run_sweep(lambda seed: seed, TINY, points, [0, 1], tmp_path, progress=False)
    assert calls[6:] == [("coconut", 0.2, 1)]


def test_sweep_command_parses_grids_seeds_shards_and_reports_bad_input(tmp_path, capsys):
    args = parse(["speech", "sweep", "--data", "c", "--out", "o", "--nspt-weights", "0.01,0.2"])
    assert args.nspt_weights == [0.01, 0.2] and args.seeds == [0, 1, 2]
    assert args.shard == (0, 1) and args.func is cli.run_sweep
    assert (args.tasks, args.epochs, args.buffer_size) == (4, 15, 96)
    args = parse(
        ["speech", "sweep", "--data", "c", "--out", "o", "--seeds", "3,4", "--shard", "1/2"]
    )
    assert args.seeds == [3, 4] and args.shard == (1, 2)
    for option, value, message in (
        ("--mm-weights", "0.1,x", "comma-separated numbers"),
        ("--seeds", "0,a", "comma-separated integers"),
        ("--shard", "2/2", "0 <= I < N"),
        ("--shard", "x", "expected I/N"),
    ):
        with pytest.raises(SystemExit):
            parse(["speech", "sweep", "--data", "c", "--out", "o", option, value])
        assert message in capsys.readouterr().err
    missing, out = str(tmp_path / "none"), str(tmp_path / "o")
    bad = parse(["speech", "sweep", "--data", missing, "--out", out, "--temperatures", "0"])
    assert cli.run_sweep(bad) == 2
    assert "temperatures must all be > 0" in capsys.readouterr().err


def test_sweep_command_end_to_end(tiny_corpus, tmp_path, capsys):
    grid = ["--nspt-weights", "0.1", "--mm-weights", "0.1", "--temperatures", "0.5"]
    budget = ["--tasks", "2", "--epochs", "1", "--buffer-size", "8", "--seeds", "0,1"]
    args = parse(
        ["speech", "sweep", "--data", str(tiny_corpus), "--out", str(tmp_path), *budget, *grid]
    )
    assert cli.run_sweep(args) == 0
    output = capsys.readouterr().out
    assert "best on validation (2 seeds): --nspt-weight 0.1 --mm-weight 0.1 --temperature 0.5" in (
        output
    )
    rows = json.loads((tmp_path / "sweep.json").read_text())["rows"]
    assert len(rows) == 2 and all(r["seeds"] == [0, 1] for r in rows)
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4


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
