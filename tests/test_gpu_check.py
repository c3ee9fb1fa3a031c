"""``benchmarks/gpu_check.py``: its offline inputs load through the real loaders, and its CPU
dry run of one sub-command ends with a table row and the JSON report."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module
    spec.loader.exec_module(module)
    return module


def test_inputs_load_through_the_package_loaders(tmp_path: Path) -> None:
    pytest.importorskip("torch_geometric")
    pytest.importorskip("PIL")
    from cl_graph.data import load_heco
    from cl_multimodal.data.folder import load_caption_folder
    from cl_speech.data.manifest import read_manifest

    gpu_check = _gpu_check()
    graph = load_heco("acm", gpu_check.build_heco_acm(tmp_path / "data"))
    assert graph.num_targets == 4019
    assert [path.name for path in graph.metapaths] == ["PAP", "PSP"]
    manifest = read_manifest(gpu_check.build_speech_corpus(tmp_path / "speech") / "manifest.csv")
    assert len(manifest) == 4 * 4 * 2
    assert len(load_caption_folder(gpu_check.build_caption_folder(tmp_path / "captions"))) == 64


def test_cpu_dry_run_writes_the_table(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--accelerator", "cpu", "--only", "regression"]
    command += ["--no-loss", "--output-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "gpu_check_cpu.json").read_text())
    [row] = report["rows"]
    assert row["status"] == "ok", row
    assert row["wall_s"] > 0
    table = (tmp_path / "gpu_check_cpu.md").read_text()
    assert "| regression supremix (csv) | ok |" in table
