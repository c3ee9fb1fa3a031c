"""Graph training on the kernel engine: one process only, bf16-mixed, checkpoints and exact resume.

Full-graph training has one batch per step (the whole graph), so there is no data-parallel run to
compare with one process: the "DDP equivalence" check for this modality is that a request for
several processes is refused in one line, by ``cl-train graph`` (exit status 2) and by the library.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from cl_core.engine_options import EngineOptions
from cl_graph.prepared import prepare_graph
from cl_graph.trainer import GraphTrainConfig, train_graph

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:FutureWarning")


@pytest.fixture(scope="module")
def prepared(synthetic_graph):
    return prepare_graph(synthetic_graph)


def run_cli(argv: list[str]) -> int:
    from cl_graph.cli import register

    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="modality"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        (["--devices", "2"], "--devices 2"),
        (["--devices", "-1"], "--devices -1"),
        (["--num-nodes", "2"], "--num-nodes 2"),
        (["--strategy", "ddp"], "--strategy ddp"),
        (["--local-negatives"], "--local-negatives"),
    ],
)
def test_data_parallel_options_are_refused_in_one_line(tmp_path, capsys, options, flag):
    argv = ["graph", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"), *options]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert flag in err and "one process" in err and "whole graph" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("precision", ["bf16-true", "64-true"])
def test_true_low_or_double_precision_is_refused_in_one_line(tmp_path, capsys, prepared, precision):
    argv = ["graph", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]
    assert run_cli([*argv, "--precision", precision]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"--precision {precision}" in err and "bf16-mixed" in err
    with pytest.raises(ValueError, match="graph training runs precision"):
        train_graph(
            prepared,
            GraphTrainConfig(method="baseline", epochs=1),
            engine=EngineOptions(precision=precision),
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a GPU-less machine")
def test_gpu_accelerator_without_a_gpu_is_a_one_line_error(tmp_path, capsys):
    argv = ["graph", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]
    assert run_cli([*argv, "--accelerator", "gpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--accelerator gpu" in err and "CUDA" in err


def test_two_process_ddp_launch_is_refused_by_the_console_script(tmp_path):
    command = [
        sys.executable,
        "-m",
        "cl_train.main",
        "graph",
        "--data-dir",
        str(tmp_path),
        "--out",
        str(tmp_path / "o"),
        "--accelerator",
        "cpu",
        "--devices",
        "2",
        "--strategy",
        "ddp",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "--devices 2" in result.stderr
    assert result.stdout == "" and not (tmp_path / "o").exists()


def test_library_refuses_several_processes(prepared):
    config = GraphTrainConfig(method="baseline", epochs=1)
    for engine in (
        EngineOptions(accelerator="cpu", devices=2, strategy="ddp"),
        EngineOptions(num_nodes=2),
        EngineOptions(strategy="ddp"),
    ):
        with pytest.raises(ValueError, match="one process on one device"):
            train_graph(prepared, config, engine=engine)


@pytest.mark.parametrize("method", ["meow", "adameow", "baseline"])
def test_bf16_mixed_trains_with_float32_losses(prepared, method):
    config = GraphTrainConfig(
        method=method, epochs=3, patience=10, cluster_counts=[4, 8], anchor_batch_size=40
    )
    bf16 = train_graph(prepared, config, engine=EngineOptions(precision="bf16-mixed"))
    fp32 = train_graph(prepared, config)
    assert bf16.embeddings.dtype == np.float32 and np.isfinite(bf16.embeddings).all()
    # The loss is computed in float32, so it is not rounded to bfloat16's 8 mantissa bits.
    assert any(float(torch.tensor(x).bfloat16()) != x for x in bf16.losses)
    np.testing.assert_allclose(bf16.losses[0], fp32.losses[0], rtol=2e-2)


@pytest.mark.filterwarnings("ignore:Experiment logs directory .* exists and is not empty")
@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty")
def test_resumed_run_ends_like_the_uninterrupted_run(prepared, tmp_path):
    config = GraphTrainConfig(
        method="meow", epochs=6, patience=10, cluster_counts=[4, 8], anchor_batch_size=40, lr=5e-3
    )
    whole = train_graph(prepared, config)
    first = train_graph(prepared, replace(config, epochs=3), out_dir=tmp_path)
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    resumed = train_graph(prepared, config, engine=EngineOptions(resume="last"), out_dir=tmp_path)
    assert first.losses == whole.losses[:3]
    assert resumed.losses == whole.losses and resumed.best_epoch == whole.best_epoch
    np.testing.assert_allclose(resumed.embeddings, whole.embeddings, rtol=0, atol=1e-6)
