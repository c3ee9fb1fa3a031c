"""Time and peak memory of contrastive-loss implementations as the batch grows (issue 3).

For each configuration (batch B, width D) a fresh subprocess times forward + backward of:

* ``textbook`` - ``F.cross_entropy(q @ k.T / t, arange(B))``, the usual PyTorch InfoNCE;
* ``plain``    - ``cl_core``'s dense masked-logits path (automatic tiling switched off);
* ``tiled``    - ``cl_core.losses.tiled.tiled_masked_logits_loss`` (one direction);
* ``symmetric``- ``tiled_symmetric_info_nce`` (both CLIP directions at once), for reference;
* ``floor``    - only the four (B, B, D) matrix products a tiled forward + backward cannot avoid
  (forward, recompute, grad of q, grad of k), done blockwise like the tiled path.

Inputs are random L2-normalised float32 embeddings (synthesized, no data set), temperature 0.1.
Time is the median of the repeats after one warm-up (a single run without warm-up above
B = 8192). Peak memory is ``VmHWM`` from
``/proc/self/status`` after resetting the high-water mark (``/proc/self/clear_refs``) with the
inputs already allocated, i.e. the extra resident memory of forward + backward. Dense methods
whose estimated footprint exceeds ``--memory-limit-gb`` are recorded as ``OOM-skipped``.

Usage::

    python benchmarks/loss_scaling.py --quick          # B up to 4096, one D sweep point, ~2 min
    nohup python benchmarks/loss_scaling.py > benchmarks/results/loss_scaling.log 2>&1 &

Writes ``benchmarks/results/loss_scaling.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
METHODS = ("textbook", "plain", "tiled", "symmetric", "floor")
#: Bytes per logit that a dense method keeps alive at its peak (fp32 logits, softmax / masked
#: copy, gradient of the logits and one temporary), used to skip configurations that cannot fit.
DENSE_BYTES_PER_LOGIT = 16
TEMPERATURE = 0.1
LARGE_BATCH = 8192


def main() -> None:
    """Parse arguments, run every configuration in a subprocess, write JSON, Markdown and PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per method")
    parser.add_argument("--memory-limit-gb", type=float, default=16.0)
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--worker", nargs=2, type=int, metavar=("B", "D"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        batch, dim = args.worker
        print(json.dumps(_measure(batch, dim, args.repeats, args.memory_limit_gb)))
        return

    if args.quick:
        configs = [(b, 256) for b in (1024, 2048, 4096)] + [(2048, 128), (2048, 512)]
    else:
        configs = [(b, 256) for b in (1024, 2048, 4096, 8192, 16384, 32768)]
        configs += [(8192, d) for d in (128, 512, 1024)]
    machine = _machine()
    rows = []
    for batch, dim in configs:
        started = time.perf_counter()
        command = [sys.executable, __file__, "--worker", str(batch), str(dim)]
        command += ["--repeats", str(args.repeats), "--memory-limit-gb", str(args.memory_limit_gb)]
        # Large allocations go straight to mmap, so freed blocks leave the resident set at once
        # and the high-water mark sees every method's own peak.
        environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(1 << 20)}
        output = subprocess.run(
            command, check=True, capture_output=True, text=True, env=environment
        ).stdout
        row = json.loads(output.strip().splitlines()[-1])
        rows.append(row)
        print(f"B={batch} D={dim} done in {time.perf_counter() - started:.0f} s: {row}", flush=True)
        machine["load_average_after"] = os.getloadavg()
        _write_outputs(args.output_dir, args.quick, machine, args.repeats, rows)


def _write_outputs(
    output_dir: Path, quick: bool, machine: dict[str, object], repeats: int, rows: list[dict]
) -> None:
    """Write (or rewrite, after each configuration) the JSON, Markdown and PNG results."""
    output_dir.mkdir(parents=True, exist_ok=True)
    stem = "loss_scaling_quick" if quick else "loss_scaling"
    report = {"machine": machine, "temperature": TEMPERATURE, "repeats": repeats, "rows": rows}
    (output_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (output_dir / f"{stem}.md").write_text(_markdown(report))
    _plot(rows, output_dir / f"{stem}.png")
    print(f"wrote {output_dir / stem}.{{json,md,png}}", flush=True)


def _machine() -> dict[str, object]:
    """CPU model, core count, torch version and the load when the run started."""
    import torch

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_before": os.getloadavg(),
    }


def _memory_kib() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {key: int(re.search(rf"{key}:\s+(\d+)", status).group(1)) for key in ("VmHWM", "VmRSS")}


def _measure(batch: int, dim: int, repeats: int, memory_limit_gb: float) -> dict[str, object]:
    """Time and measure every method at one (B, D) inside this (fresh) process."""
    import torch

    torch.manual_seed(0)
    query = torch.nn.functional.normalize(torch.randn(batch, dim), dim=1).requires_grad_()
    key = torch.nn.functional.normalize(torch.randn(batch, dim), dim=1).requires_grad_()
    dense_estimate_gb = DENSE_BYTES_PER_LOGIT * batch * batch / 1e9
    # Past B = 8192 one forward + backward takes minutes on 2 cores: time a single run, no warm-up.
    large = batch > LARGE_BATCH
    repeats = 1 if large else repeats
    row: dict[str, object] = {
        "B": batch,
        "D": dim,
        "dense_estimate_gb": dense_estimate_gb,
        "repeats": repeats,
        "warm_up": not large,
    }
    for method in METHODS:
        if method in ("textbook", "plain") and dense_estimate_gb > memory_limit_gb:
            row[method] = {"status": "OOM-skipped", "estimated_gb": round(dense_estimate_gb, 1)}
            continue
        step = _method(method, query, key)
        Path("/proc/self/clear_refs").write_text("5")
        baseline = _memory_kib()["VmRSS"]
        if not large:
            step()
            query.grad = key.grad = None
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            step()
            times.append(time.perf_counter() - started)
            query.grad = key.grad = None
        row[method] = {
            "status": "ok",
            "seconds": statistics.median(times),
            "all_seconds": times,
            "peak_extra_mib": (_memory_kib()["VmHWM"] - baseline) / 1024,
        }
    return row


def _method(name: str, query: object, key: object) -> Callable[[], None]:
    """A closure running forward + backward of one method on the given inputs."""
    import torch
    import torch.nn.functional as F

    from cl_core.losses import masked_logits
    from cl_core.losses.tiled import (
        default_block_size,
        tiled_masked_logits_loss,
        tiled_symmetric_info_nce,
    )

    batch = query.shape[0]
    index = torch.arange(batch)

    def textbook() -> None:
        F.cross_entropy(query @ key.T / TEMPERATURE, index).backward()

    def plain() -> None:
        # The plain path is the dense one; lift the automatic-tiling threshold for this process.
        masked_logits.AUTO_TILE_ELEMENTS = sys.maxsize
        masked_logits.masked_logits_loss(
            query, key, temperature=TEMPERATURE, positive_index=index
        ).backward()

    def tiled() -> None:
        tiled_masked_logits_loss(
            query, key, temperature=TEMPERATURE, positive_index=index
        ).backward()

    def symmetric() -> None:
        tiled_symmetric_info_nce(query, key, TEMPERATURE).backward()

    block = default_block_size(batch, batch)
    q, k = query.detach(), key.detach()

    def floor() -> None:
        grad_q = torch.zeros_like(q)
        grad_k = torch.empty_like(k)
        for start in range(0, batch, block):
            keys = k[start : start + block]
            torch.mm(q, keys.T)
            recomputed = torch.mm(q, keys.T)
            grad_q.addmm_(recomputed, keys)
            torch.mm(recomputed.T, q, out=grad_k[start : start + block])

    return {
        "textbook": textbook,
        "plain": plain,
        "tiled": tiled,
        "symmetric": symmetric,
        "floor": floor,
    }[name]


def _cell(result: dict[str, object], key: str, fmt: str) -> str:
    if result["status"] != "ok":
        return f"OOM-skipped (~{result['estimated_gb']} GB)"
    return format(result[key], fmt)


def _markdown(report: dict[str, object]) -> str:
    """The results as a Markdown table, with the machine and the tiled/floor ratio."""
    machine = report["machine"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']} "
        f"(CPU), {machine['torch_threads']} threads; load average before/after "
        f"{machine['load_average_before'][0]:.1f} / {machine['load_average_after'][0]:.1f}. "
        "Synthesized random unit vectors, "
        f"temperature {report['temperature']}, median of {report['repeats']} after a warm-up "
        f"(one run, no warm-up, for B > {LARGE_BATCH}).",
        "",
        "| B | D | textbook s | plain s | tiled s | symmetric (2 dirs) s | matmul floor s "
        "| tiled / floor | textbook MiB | plain MiB | tiled MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        ratio = row["tiled"]["seconds"] / row["floor"]["seconds"]
        lines.append(
            f"| {row['B']} | {row['D']} | {_cell(row['textbook'], 'seconds', '.3f')} "
            f"| {_cell(row['plain'], 'seconds', '.3f')} | {row['tiled']['seconds']:.3f} "
            f"| {row['symmetric']['seconds']:.3f} | {row['floor']['seconds']:.3f} | {ratio:.2f} "
            f"| {_cell(row['textbook'], 'peak_extra_mib', '.0f')} "
            f"| {_cell(row['plain'], 'peak_extra_mib', '.0f')} "
            f"| {row['tiled']['peak_extra_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _plot(rows: list[dict[str, object]], path: Path) -> None:
    """Time and peak memory against B (D=256), log-log, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = [row for row in rows if row["D"] == 256]
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for method in METHODS:
        points = [(row["B"], row[method]) for row in sweep if row[method]["status"] == "ok"]
        if not points:
            continue
        batches = [b for b, _ in points]
        time_axis.plot(batches, [r["seconds"] for _, r in points], marker="o", label=method)
        if method != "floor":
            memory_axis.plot(
                batches, [r["peak_extra_mib"] for _, r in points], marker="o", label=method
            )
    for axis, label in ((time_axis, "forward + backward (s)"), (memory_axis, "extra peak (MiB)")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("batch B (D = 256)")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
