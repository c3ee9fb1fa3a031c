"""SupReMix against its baselines over many seeds on one cl-bench regression row (issue 10).

Each seed is one run of the row exactly as ``cl-bench --profile full`` trains it (the same split
rule, sizes, epochs and validation-based choice of each method's configuration; see
``cl_regression.bench_run.run_cell``), so seeds 0-2 reproduce the full profile's per-seed
numbers. More seeds tell a real difference from seed noise: the summary gives each method's mean
and sample std of the test MAE, and for SupReMix minus each baseline the mean paired difference,
the number of seeds SupReMix wins and a paired t-test p-value.

The rotated Fashion-MNIST row (real images, synthetic angle target) can be scaled up with
``--num-images`` / ``--image-epochs``.

Usage::

    uv run python benchmarks/regression_seed_study.py diamonds-fewshot --seeds 10
    uv run python benchmarks/regression_seed_study.py rotated-fashion-mnist --seeds 3 \\
        --num-images 4000 --image-epochs 15

Writes ``benchmarks/results/regression_seeds_<row>[_<images>x<epochs>]/``: one JSON per seed
(written atomically as soon as the seed finishes; a rerun skips seeds already on disk), and
``summary.{json,md,png}``. Test MAE does not depend on the machine's load; timings do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main() -> None:
    """Run the missing seeds of one row, then summarise every seed on disk."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a cl-bench regression row, e.g. diamonds-fewshot")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (default 10)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--num-images", type=int, help="rotated-fashion-mnist: images (80%% train)")
    parser.add_argument("--image-epochs", type=int, help="rotated-fashion-mnist: epochs")
    parser.add_argument("--output-dir", type=Path, help="default: benchmarks/results/<name>")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    name = f"regression_seeds_{args.dataset}"
    if args.num_images or args.image_epochs:
        name += f"_{args.num_images or 'default'}x{args.image_epochs or 'default'}"
    out = args.output_dir or RESULTS_DIR / name
    out.mkdir(parents=True, exist_ok=True)

    from tqdm import tqdm

    from cl_core.io import atomic_write_text
    from cl_regression.bench_run import run_cell

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for seed in tqdm(seeds, desc=args.dataset, unit="seed", file=sys.stderr):
        path = out / f"seed{seed}.json"
        if path.exists():
            continue
        run = run_cell(
            args.dataset,
            "full",
            (seed,),
            num_images=args.num_images,
            image_epochs=args.image_epochs,
        )
        record = {
            "dataset": args.dataset,
            "seed": seed,
            "num_train": run.result.num_train,
            "num_test": run.result.num_test,
            "epochs": run.config.epochs,
            "machine": _machine(),
            "metrics": {
                method: {key: value for key, value in metrics.items() if not key.endswith("_std")}
                for method, metrics in run.result.metrics.items()
            },
        }
        atomic_write_text(path, json.dumps(record, indent=1))
    records = [json.loads(path.read_text()) for path in sorted(out.glob("seed*.json"))]
    summary = summarize(records)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    atomic_write_text(out / "summary.md", _markdown(summary))
    _plot(records, out / "summary.png")
    print(_markdown(summary))


def summarize(records: list[dict]) -> dict[str, object]:
    """Per method mean / sample std of the test MAE over seeds; SupReMix minus each baseline."""
    import numpy as np
    from scipy import stats

    methods = list(records[0]["metrics"])
    mae = {m: np.array([r["metrics"][m]["mae"] for r in records]) for m in methods}
    spread = {m: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for m, v in mae.items()}
    paired = {}
    for baseline in methods:
        if baseline == "supremix":
            continue
        difference = mae["supremix"] - mae[baseline]
        p_value = (
            float(stats.ttest_rel(mae["supremix"], mae[baseline]).pvalue)
            if len(records) > 2
            else None
        )
        paired[baseline] = {
            "mean_difference": float(difference.mean()),
            "supremix_wins": int((difference < 0).sum()),
            "p_value": p_value,
        }
    return {
        "dataset": records[0]["dataset"],
        "seeds": [r["seed"] for r in records],
        "num_train": records[0]["num_train"],
        "num_test": records[0]["num_test"],
        "epochs": records[0]["epochs"],
        "mae_mean": {m: float(v.mean()) for m, v in mae.items()},
        "mae_std": spread,
        "supremix_minus": paired,
        "machine": records[-1]["machine"],
    }


def _markdown(summary: dict) -> str:
    seeds = summary["seeds"]
    lines = [
        f"{summary['dataset']}: {len(seeds)} seeds ({seeds[0]}-{seeds[-1]}), "
        f"{summary['num_train']} train / {summary['num_test']} test rows, "
        f"{summary['epochs']} epochs; test MAE mean +- sample std",
        "",
        "| method | MAE | SupReMix minus it | SupReMix wins | paired t-test p |",
        "|---|---|---|---|---|",
    ]
    for method, mean in summary["mae_mean"].items():
        cells = ["-", "-", "-"]
        if method in summary["supremix_minus"]:
            pair = summary["supremix_minus"][method]
            p_value = "-" if pair["p_value"] is None else f"{pair['p_value']:.2g}"
            cells = [
                f"{pair['mean_difference']:+.4g}",
                f"{pair['supremix_wins']}/{len(seeds)}",
                p_value,
            ]
        lines.append(
            f"| {method} | {mean:.4g} +- {summary['mae_std'][method]:.2g} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def _plot(records: list[dict], path: Path) -> None:
    """Test MAE per seed and method, one line per seed, so paired differences are visible."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(records[0]["metrics"])
    figure, axes = plt.subplots(figsize=(1.4 * len(methods) + 2, 4))
    for record in records:
        values = [record["metrics"][m]["mae"] for m in methods]
        axes.plot(methods, values, marker="o", color="grey", alpha=0.5, linewidth=1)
    means = [sum(r["metrics"][m]["mae"] for r in records) / len(records) for m in methods]
    axes.plot(methods, means, marker="D", color="black", linewidth=2, label="mean")
    axes.set_ylabel("test MAE (lower is better)")
    axes.set_title(f"{records[0]['dataset']}: {len(records)} seeds (grey: one seed)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _machine() -> dict[str, object]:
    """CPU core count, torch version and the load when the seed finished."""
    import torch

    return {
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


if __name__ == "__main__":
    main()
