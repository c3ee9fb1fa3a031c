"""The DCL batch-size study: drop statistics, settings checks, resumable runs with a curve."""

from __future__ import annotations

import json
import statistics

import pytest

import cl_vision.batch_size_study as study_module
from cl_vision.batch_size_study import (
    BatchSizeStudy,
    main,
    plot_study,
    run_batch_size_study,
    run_name,
    study_baselines,
    summarize_drops,
)
from cl_vision.data import load_digits_split

pytestmark = [
    # Lightning 2.6's pytree helper uses torch's deprecated LeafSpec on every batch.
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
    pytest.mark.filterwarnings(r"ignore:The number of training batches .* is smaller"),
]


def _row(method: str, batch: int, seed: int, acc: float) -> dict:
    return {"method": method, "batch_size": batch, "seed": seed, "linear_acc": acc}


def test_drops_are_large_minus_small_batch_per_seed_with_mean_and_sample_std() -> None:
    rows = [
        _row("simclr", 256, 0, 0.80),
        _row("simclr", 32, 0, 0.70),
        _row("simclr", 256, 1, 0.82),
        _row("simclr", 32, 1, 0.62),
        _row("dcl", 256, 0, 0.81),
        _row("dcl", 32, 0, 0.80),
        _row("dcl", 256, 1, 0.80),
        _row("dcl", 32, 1, 0.77),
        _row("dcl", 256, 2, 0.90),  # no batch-32 partner: ignored
    ]
    summary = summarize_drops(rows)
    assert summary["simclr"]["drops"] == pytest.approx({0: 0.10, 1: 0.20})
    assert summary["simclr"]["mean"] == pytest.approx(0.15)
    assert summary["simclr"]["std"] == pytest.approx(statistics.stdev([0.10, 0.20]))
    assert sorted(summary["dcl"]["drops"]) == [0, 1]
    assert summary["dcl"]["acc_large"]["mean"] == pytest.approx(0.805)
    assert summary["gap"]["per_seed"] == pytest.approx({0: 0.09, 1: 0.17})
    assert summary["gap"]["mean"] > 0


def test_one_seed_has_zero_std_and_no_gap_without_both_losses() -> None:
    summary = summarize_drops([_row("dcl", 256, 0, 0.8), _row("dcl", 32, 0, 0.9)])
    assert summary["dcl"]["mean"] == pytest.approx(-0.1)
    assert summary["dcl"]["std"] == 0.0
    assert "gap" not in summary


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_sizes": (32, 256)}, "batch_sizes"),
        ({"batch_sizes": (256, 1)}, "batch_sizes"),
        ({"seeds": ()}, "seeds"),
        ({"methods": ("nope",)}, "method"),
        ({"epochs": 0}, "epochs"),
        ({"temperature": 0.0}, "temperature"),
    ],
)
def test_bad_study_settings_raise(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        BatchSizeStudy(**kwargs)


def test_both_losses_share_temperature_lr_and_epochs() -> None:
    study = BatchSizeStudy(temperature=0.2, epochs=3)
    configs = [study.config(m, b, 0) for m in study.methods for b in study.batch_sizes]
    assert {(c.tau, c.lr, c.epochs) for c in configs} == {(0.2, study.lr, 3)}
    assert {c.method for c in configs} == {"simclr", "dcl"}


def test_study_writes_each_run_with_a_curve_and_skips_finished_runs(tmp_path, monkeypatch):
    split = load_digits_split()
    study = BatchSizeStudy(
        methods=("dcl",), batch_sizes=(64, 16), seeds=(0,), epochs=2, curve_every=1
    )
    results = run_batch_size_study(split, tmp_path, study, max_steps=2)
    assert [r["name"] for r in results] == [run_name("dcl", 64, 0), run_name("dcl", 16, 0)]
    for result in results:
        saved = json.loads((tmp_path / "runs" / f"{result['name']}.json").read_text())
        assert saved["linear_acc"] == result["linear_acc"]
        assert saved["linear_c"] in (0.01, 0.1, 1.0, 10.0)
        assert saved["temperature"] == 0.1 and saved["steps"] == 2
        assert "knn_acc" in saved["curve"][-1] and "train_loss" in saved["curve"][-1]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(study_module, "train", no_training)
    again = run_batch_size_study(split, tmp_path, study, max_steps=2)
    assert [r["linear_acc"] for r in again] == [r["linear_acc"] for r in results]
    assert plot_study(again, tmp_path / "study.png").stat().st_size > 0


def test_baselines_are_probed_once_and_cached(tmp_path, monkeypatch) -> None:
    split = load_digits_split()
    baselines = study_baselines(split, tmp_path)
    assert set(baselines) == {"raw pixels", "random-init encoder"}
    assert all("linear_c" in scores for scores in baselines.values())

    def no_probe(*args, **kwargs):
        raise AssertionError("cached baselines were probed again")

    monkeypatch.setattr(study_module, "raw_pixel_scores", no_probe)
    assert study_baselines(split, tmp_path) == baselines


def test_cli_reports_a_missing_data_folder_in_one_line(tmp_path, capsys) -> None:
    code = main(["--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "absent")])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "\n" not in error
