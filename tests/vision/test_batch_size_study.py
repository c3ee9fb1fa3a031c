"""The DCL batch-size study: drop statistics, settings checks, resumable runs with a curve."""

from __future__ import annotations

import json
import math
import statistics

import pytest

import cl_vision.batch_size_study as study_module
import cl_vision.data
from cl_vision.batch_size_study import (
    LR_SCALINGS,
    BatchSizeStudy,
    main,
    plot_study,
    run_batch_size_study,
    run_name,
    scaled_lr,
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


def test_drops_of_another_probe_score_use_that_score() -> None:
    rows = [
        dict(_row("dcl", 256, 0, 0.80), knn_acc=0.70),
        dict(_row("dcl", 32, 0, 0.75), knn_acc=0.72),
    ]
    assert summarize_drops(rows, metric="knn_acc")["dcl"]["drops"] == pytest.approx({0: -0.02})
    assert summarize_drops(rows)["dcl"]["drops"] == pytest.approx({0: 0.05})
    with pytest.raises(ValueError, match="metric 'effective_rank'"):
        summarize_drops(rows, metric="effective_rank")


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
        ({"lr_scaling": "quadratic"}, "lr_scaling"),
    ],
)
def test_bad_study_settings_raise(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        BatchSizeStudy(**kwargs)


@pytest.mark.parametrize(
    ("batch_size", "lr_scaling", "factor"),
    [
        (256, "linear", 1.0),
        (32, "linear", 1 / 8),
        (512, "linear", 2.0),
        (64, "sqrt", 0.5),
        (1024, "sqrt", 2.0),
        (32, "none", 1.0),
    ],
)
def test_scaled_lr_follows_the_batch_size_rule(batch_size, lr_scaling, factor) -> None:
    assert scaled_lr(3e-3, batch_size, lr_scaling) == pytest.approx(3e-3 * factor)


def test_scaled_lr_linear_rule_keeps_lr_per_image_constant() -> None:
    rates = {b: scaled_lr(2e-3, b, "linear") / b for b in (16, 32, 100, 256, 4096)}
    assert max(rates.values()) == pytest.approx(min(rates.values()))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((2e-3, 32, "cubic"), "lr_scaling"),
        ((0.0, 32, "linear"), "lr must be > 0"),
        ((math.nan, 32, "linear"), "lr must be > 0"),
        ((2e-3, 0, "linear"), "batch_size must be >= 1"),
    ],
)
def test_scaled_lr_rejects_bad_input(args, message) -> None:
    with pytest.raises(ValueError, match=message):
        scaled_lr(*args)


def test_linear_scaling_gives_each_batch_size_its_lr_and_both_losses_the_same() -> None:
    study = BatchSizeStudy(lr=2e-3, lr_scaling="linear")
    for batch_size, expected in ((256, 2e-3), (32, 2.5e-4)):
        configs = [study.config(method, batch_size, 1) for method in study.methods]
        assert [c.lr for c in configs] == pytest.approx([expected] * len(configs))
    fixed = BatchSizeStudy(lr=2e-3)
    assert {fixed.config("dcl", b, 0).lr for b in fixed.batch_sizes} == {2e-3}


def test_run_names_keep_protocols_apart_and_the_fixed_lr_name_unchanged() -> None:
    names = {run_name("dcl", 32, 1, scaling) for scaling in LR_SCALINGS}
    assert len(names) == len(LR_SCALINGS)
    assert run_name("dcl", 32, 1) == run_name("dcl", 32, 1, "none") == "dcl-b32-seed1"
    with pytest.raises(ValueError, match="lr_scaling"):
        run_name("dcl", 32, 1, "cubic")


def test_summary_refuses_to_mix_lr_protocols_and_reads_old_results_as_fixed_lr() -> None:
    old = [_row("dcl", 256, 0, 0.8), _row("dcl", 32, 0, 0.7)]
    fixed = [dict(r, seed=1, lr_scaling="none") for r in old]
    assert summarize_drops([*old, *fixed])["dcl"]["drops"] == pytest.approx({0: 0.1, 1: 0.1})
    linear = [dict(r, seed=1, lr_scaling="linear") for r in old]
    with pytest.raises(ValueError, match="one lr_scaling protocol"):
        summarize_drops([*old, *linear])


def test_both_losses_share_temperature_lr_and_epochs() -> None:
    study = BatchSizeStudy(temperature=0.2, epochs=3)
    configs = [study.config(m, b, 0) for m in study.methods for b in study.batch_sizes]
    assert {(c.tau, c.lr, c.epochs) for c in configs} == {(0.2, study.lr, 3)}
    assert {c.method for c in configs} == {"simclr", "dcl"}


def test_study_writes_each_run_with_a_curve_and_skips_finished_runs(tmp_path, monkeypatch):
    split = load_digits_split()
    study = BatchSizeStudy(
        methods=("dcl",),
        batch_sizes=(64, 16),
        seeds=(0,),
        epochs=2,
        curve_every=1,
        lr_scaling="linear",
    )
    results = run_batch_size_study(split, tmp_path, study, max_steps=2)
    assert [r["name"] for r in results] == [
        run_name("dcl", 64, 0, "linear"),
        run_name("dcl", 16, 0, "linear"),
    ]
    for result in results:
        saved = json.loads((tmp_path / "runs" / f"{result['name']}.json").read_text())
        assert saved["linear_acc"] == result["linear_acc"]
        assert saved["linear_c"] in (0.01, 0.1, 1.0, 10.0)
        assert saved["temperature"] == 0.1 and saved["steps"] == 2
        assert saved["lr_scaling"] == "linear"
        assert saved["lr"] == pytest.approx(study.lr * saved["batch_size"] / 256)
        assert "knn_acc" in saved["curve"][-1] and "train_loss" in saved["curve"][-1]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(study_module, "train", no_training)
    again = run_batch_size_study(split, tmp_path, study, max_steps=2)
    assert [r["linear_acc"] for r in again] == [r["linear_acc"] for r in results]
    assert plot_study(again, tmp_path / "study.png").stat().st_size > 0
    fixed_lr = BatchSizeStudy(
        methods=("dcl",), batch_sizes=(64, 16), seeds=(0,), epochs=2, curve_every=1
    )
    with pytest.raises(AssertionError, match="trained again"):
        run_batch_size_study(split, tmp_path, fixed_lr, max_steps=2)


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


def test_cli_records_the_lr_scaling_in_the_study_settings(tmp_path, monkeypatch) -> None:
    studies: list[BatchSizeStudy] = []

    def fake_study(split, out_dir, study, **kwargs):
        studies.append(study)
        return []

    monkeypatch.setattr(
        cl_vision.data, "load_fashion_mnist_split", lambda *a, **k: load_digits_split()
    )
    monkeypatch.setattr(study_module, "run_batch_size_study", fake_study)
    monkeypatch.setattr(study_module, "study_baselines", lambda split, out: {})
    monkeypatch.setattr(study_module, "plot_study", lambda results, path: path)
    out = tmp_path / "out"
    assert main(["--out", str(out), "--lr-scaling", "linear", "--lr", "4e-3"]) == 0
    assert studies[0].lr_scaling == "linear" and studies[0].lr == 4e-3
    settings = json.loads((out / "settings.json").read_text())
    assert settings["lr_scaling"] == "linear" and settings["lr"] == 4e-3


def test_cli_rejects_an_unknown_lr_scaling(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "out"), "--lr-scaling", "cubic"])
    assert exit_info.value.code == 2
    assert "--lr-scaling" in capsys.readouterr().err
