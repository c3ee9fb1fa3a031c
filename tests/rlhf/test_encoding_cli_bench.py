"""Frozen-encoder features on real HH-RLHF dialogues, ``cl-train rlhf`` and the bench rows."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
import torch

from cl_core.registry import BenchContext
from cl_rlhf import bench, bench_run, cli, encoding
from cl_rlhf.data import load_hh_harmless
from cl_rlhf.experiment import CLEAN_BASELINE


@pytest.fixture(scope="module")
def real_pairs(data_dir):
    return load_hh_harmless(data_dir, limit=12)


@pytest.fixture(scope="module")
def pairs_file(real_pairs, tmp_path_factory):
    file = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    rows = zip(real_pairs.chosen, real_pairs.rejected, strict=True)
    file.write_text("".join(json.dumps({"chosen": c, "rejected": r}) + "\n" for c, r in rows))
    return file


def test_left_truncation_keeps_the_differing_final_turn(real_pairs):
    long_pair = max(range(12), key=lambda i: len(real_pairs.chosen[i]))
    texts = [real_pairs.chosen[long_pair], real_pairs.rejected[long_pair]]
    features = encoding.encode_texts(texts, max_length=32)
    assert features.shape == (2, 384)
    assert bool(torch.isfinite(features).all())
    assert not torch.allclose(features[0], features[1])


def test_cache_encodes_each_text_once(real_pairs, tmp_path, monkeypatch):
    texts = list(real_pairs.chosen[:3])
    first = encoding.cached_text_features(texts, tmp_path, max_length=32)
    calls = []
    real_encode = encoding.encode_texts

    def counting_encode(batch, **kwargs):
        calls.append(list(batch))
        return real_encode(batch, **kwargs)

    monkeypatch.setattr(encoding, "encode_texts", counting_encode)
    again = encoding.cached_text_features(texts, tmp_path, max_length=32)
    torch.testing.assert_close(again, first)
    assert calls == []
    extended = encoding.cached_text_features(
        [*texts, real_pairs.rejected[0]], tmp_path, max_length=32
    )
    assert calls == [[real_pairs.rejected[0]]]
    torch.testing.assert_close(extended[:3], first)


def test_encoder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least one text"):
        encoding.encode_texts([])
    with pytest.raises(ValueError, match="max_length"):
        encoding.encode_texts(["a"], max_length=1)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="cl-train")
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cl_train_rlhf_trains_and_writes_results(pairs_file, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["rlhf", "--method", "flip", "--pairs", str(pairs_file), "--out", str(out)]
    argv += [
        "--epochs",
        "2",
        "--ensemble-size",
        "2",
        "--strength-epochs",
        "1",
        "--max-length",
        "32",
        "--flip-fraction",
        "0.3",
    ]
    args = _parse(argv)
    assert args.func(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == "flip"
    assert metrics["flipped_train_pairs"] == round(0.3 * metrics["train_pairs"])
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    saved = torch.load(out / "reward_head.pt", weights_only=True)
    assert saved["in_dim"] == 384
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == metrics


def test_cl_train_rlhf_reports_a_bad_line_in_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"chosen": "a", "rejected": "b"}\n{"chosen": 3}\n')
    args = _parse(["rlhf", "--pairs", str(broken), "--out", str(tmp_path / "run")])
    assert args.func(args) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert f"{broken}:2: field 'chosen'" in error
    missing = _parse(["rlhf", "--pairs", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)])
    assert missing.func(missing) == 2
    assert "nope.jsonl: no such file" in capsys.readouterr().err
    lone = _parse(["rlhf", "--method", "margin", "--pairs", str(broken), "--ensemble-size", "1"])
    lone.out = tmp_path / "lone"
    assert lone.func(lone) == 2
    assert "--ensemble-size must be >= 2 for --method margin" in capsys.readouterr().err


def test_cli_rejects_bad_options():
    with pytest.raises(SystemExit):
        _parse(["rlhf", "--pairs", "x.jsonl", "--method", "metarm"])
    with pytest.raises(SystemExit):
        _parse(["rlhf", "--pairs", "x.jsonl", "--flip-fraction", "1.2"])
    with pytest.raises(SystemExit):
        _parse(["rlhf", "--pairs", "x.jsonl", "--view", "prompt"])
    with pytest.raises(SystemExit):
        _parse(["rlhf", "--pairs", "x.jsonl", "--strength-epochs", "0"])


def test_bench_and_cli_modules_import_without_torch():
    code = "import sys, cl_rlhf.bench, cl_rlhf.cli; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
    assert {recipe.method for recipe in bench.RECIPES} == {
        "rm-flip",
        "rm-smooth",
        "rm-margin",
        "rm-contrastive",
        "rm-swav",
        "rm-bt-finetune",
        "rm-metarm",
        "sirl",
    }


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory):
    """One output folder for the HH bench rows, so they share one feature cache."""
    return tmp_path_factory.mktemp("bench")


@pytest.mark.parametrize("dataset", ["hh-harmless", "hh-harmless-flip30"])
def test_bench_row_reports_method_and_baselines(dataset, data_dir, bench_out, monkeypatch):
    monkeypatch.setitem(
        bench_run._PROFILES,
        "quick",
        {"max_pairs": 12, "seeds": 1, "ensemble_size": 2, "epochs": 2, "strength_epochs": 1},
    )
    bench_run._noise_experiment.cache_clear()
    recipe = next(r for r in bench.RECIPES if r.method == "rm-margin")
    ctx = BenchContext(dataset, "quick", 0, data_dir, bench_out)
    row = recipe.load()(ctx)
    bench_run._noise_experiment.cache_clear()
    assert row.method == "rm-margin" and row.data_kind == "real" and row.dataset == dataset
    assert 0.0 <= row.metrics["test_accuracy"] <= 1.0
    assert "bt" in row.baselines
    assert (CLEAN_BASELINE in row.baselines) == (dataset == "hh-harmless-flip30")
    assert row.notes.startswith("Real:")
    with pytest.raises(ValueError, match="dataset must be one of"):
        recipe.load()(BenchContext("sts", "quick", 0, data_dir, bench_out))


def test_metarm_bench_row_on_the_length_shift(data_dir, bench_out, monkeypatch):
    monkeypatch.setitem(
        bench_run._PROFILES,
        "quick",
        {"max_pairs": 40, "seeds": 1, "ensemble_size": 2, "epochs": 1, "strength_epochs": 1},
    )
    recipe = next(r for r in bench.RECIPES if r.method == "rm-metarm")
    row = recipe.load()(BenchContext("hh-harmless-length-shift", "quick", 0, data_dir, bench_out))
    assert row.method == "rm-metarm" and row.data_kind == "real"
    assert set(row.baselines) == {"bt"}
    assert 0.0 <= row.metrics["shifted_test_accuracy"] <= 1.0
    assert row.metrics["num_shifted_test_pairs"] > 0


def test_sirl_bench_row_is_marked_simulated(tmp_path):
    recipe = next(r for r in bench.RECIPES if r.method == "sirl")
    row = recipe.load()(BenchContext("gridworld-spurious", "smoke", 0, None, tmp_path))
    assert row.data_kind == "synthesized" and row.notes.startswith("Simulated:")
    assert set(row.baselines) == {"raw-features"}
    assert 0.0 <= row.metrics["shifted_accuracy"] <= 1.0
