"""Per-fit overhead of the kernel engine (``cl_core.training.fit_objective``) against a plain loop.

Benchmark rows fit many small models, so what the engine adds to each fit matters more than its
per-step cost. Both sides train the same MLP (16 -> 64 -> 1, squared error, AdamW) on the same
synthesized regression data (no data set) with the same batches, in one process, one thread, after
one warm-up fit each (imports and first-call costs excluded). The engine side is the bare trainer
that benchmark rows use (``out_dir=None``: no logger, no checkpoints, no progress bar).

Usage::

    uv run python benchmarks/engine_overhead.py            # steps 10, 100, 1000; 5 repeats

Writes ``benchmarks/results/engine_overhead.{json,md}``: median seconds per fit for each side, and
the engine's extra time per fit and per step.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from cl_core.engine_options import EngineOptions
from cl_core.training import fit_objective, resumable_loader

RESULTS = Path(__file__).parent / "results"
BATCH = 32


def objective(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 1))


def plain_fit(data: TensorDataset, steps: int) -> float:
    net = model()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loader = resumable_loader(data, BATCH, shuffle=False)
    started = time.perf_counter()
    taken = 0
    while taken < steps:
        for batch in loader:
            loss = objective(net, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            taken += 1
            if taken == steps:
                break
    return time.perf_counter() - started


def engine_fit(data: TensorDataset, steps: int) -> float:
    started = time.perf_counter()
    fit_objective(
        model(),
        objective,
        resumable_loader(data, BATCH, shuffle=False),
        max_steps=steps,
        lr=1e-3,
        engine=EngineOptions(accelerator="cpu", devices=1),
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH * 50, 16, generator=generator)
    data = TensorDataset(x, x.sum(1, keepdim=True))
    plain_fit(data, 5), engine_fit(data, 5)  # warm-up
    rows = []
    for steps in args.steps:
        plain, engine = [], []
        for _ in range(args.repeats):
            plain.append(plain_fit(data, steps))
            engine.append(engine_fit(data, steps))
        plain_s, engine_s = statistics.median(plain), statistics.median(engine)
        rows.append(
            {
                "steps": steps,
                "plain_s": plain_s,
                "engine_s": engine_s,
                "extra_per_fit_s": engine_s - plain_s,
                "extra_per_step_ms": 1000 * (engine_s - plain_s) / steps,
            }
        )
        print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    meta = {"host": f"{platform.node()} ({platform.machine()})", "repeats": args.repeats}
    (RESULTS / "engine_overhead.json").write_text(json.dumps({**meta, "rows": rows}, indent=2))
    lines = [
        "| steps | plain loop (s) | engine (s) | extra per fit (s) | extra per step (ms) |",
        "|---|---|---|---|---|",
        *(
            f"| {r['steps']} | {r['plain_s']:.3f} | {r['engine_s']:.3f} | "
            f"{r['extra_per_fit_s']:.3f} | {r['extra_per_step_ms']:.2f} |"
            for r in rows
        ),
    ]
    (RESULTS / "engine_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
