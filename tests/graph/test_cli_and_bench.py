"""``cl-train graph`` on real ACM (in-process, bf16-mixed), its error path, the cl-bench recipes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:FutureWarning")


def parse(argv):
    from cl_graph.cli import register

    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="modality"))
    return parser.parse_args(argv)


def test_registration_and_bench_module_stay_light():
    code = (
        "import sys, argparse\n"
        "import cl_graph.bench, cl_graph.cli\n"
        "p = argparse.ArgumentParser(); cl_graph.cli.register(p.add_subparsers())\n"
        "heavy = [m for m in ('torch', 'torch_geometric', 'sklearn') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_train_graph_writes_embeddings_and_results(heco_dir, tmp_path):
    args = parse(
        [
            "graph",
            "--method",
            "baseline",
            "--dataset",
            "acm",
            "--data-dir",
            str(heco_dir.parent),
            "--out",
            str(tmp_path / "run"),
            "--epochs",
            "1",
            "--select-on",
            "validation",
            "--precision",
            "bf16-mixed",
        ]
    )
    assert args.func(args) == 0
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()
    embeddings = np.load(tmp_path / "run" / "embeddings.npy")
    assert embeddings.shape == (4019, 64) and np.isfinite(embeddings).all()
    report = json.loads((tmp_path / "run" / "results.json").read_text())
    assert report["method"] == "baseline" and len(report["losses"]) == 1
    assert report["engine"]["precision"] == "bf16-mixed" and np.isfinite(report["losses"]).all()
    [(epoch, val_macro_f1)] = report["validation_macro_f1"]
    assert epoch == 0 and 0.0 < val_macro_f1 <= 1.0
    for key in ("macro_f1@20", "micro_f1@60", "auc@40", "nmi", "ari"):
        assert 0.0 <= report["metrics"][key] <= 100.0
    assert report["features_only_logreg"]["macro_f1@20"] > 50.0
    assert report["data_card"].startswith("Real:")


def test_missing_data_gives_one_line_error(tmp_path, capsys, monkeypatch):
    # Nowhere else either: no shared data folder, an empty cache, no download.
    monkeypatch.delenv("CL_DATA_DIR", raising=False)
    monkeypatch.setenv("CL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CL_OFFLINE", "1")
    args = parse(
        ["graph", "--dataset", "acm", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "acm" in err and "not available" in err


def test_recipes_are_listed_with_real_data_cards():
    from cl_graph.bench import RECIPES

    assert {r.method for r in RECIPES} == {"meow", "adameow", "heco-cross-view"}
    for recipe in RECIPES:
        assert [d.name for d in recipe.datasets] == ["acm", "dblp", "aminer", "freebase"]
        assert all(d.kind == "real" and d.requires == (f"heco-{d.name}",) for d in recipe.datasets)
        assert callable(recipe.load())


def test_meow_recipe_reports_method_and_features_baseline(heco_dir, tmp_path):
    from cl_core.registry import BenchContext
    from cl_graph.bench_run import run_graph_recipe

    context = BenchContext("acm", "quick", 0, heco_dir.parent, tmp_path)
    result = run_graph_recipe(context, "meow", overrides={"epochs": 1, "cluster_counts": [10, 20]})
    assert result.method == "meow" and result.data_kind == "real"
    assert set(result.baselines) == {"features-logreg"}
    assert "macro_f1@20" in result.metrics and "macro_f1@20_std" in result.metrics
    assert result.baselines["features-logreg"]["macro_f1@20"] > 50.0
    assert result.train_time_s > 0 and result.samples_per_s > 0 and result.epochs == 1


def test_recipe_without_the_data_anywhere_says_how_to_get_it(tmp_path, monkeypatch):
    from cl_core.datasets.sources import DataUnavailableError
    from cl_core.registry import BenchContext
    from cl_graph.bench_run import run_meow

    monkeypatch.delenv("CL_DATA_DIR", raising=False)
    monkeypatch.setenv("CL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CL_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match=r"heco-acm is not available.*--data-dir"):
        run_meow(BenchContext("acm", "quick", 0, None, tmp_path))
