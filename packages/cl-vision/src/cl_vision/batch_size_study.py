"""DCL's batch-size claim, several seeds: does DCL lose less accuracy than NT-Xent at a small batch?

Yeh et al., "Decoupled Contrastive Learning" (ECCV 2022, arXiv:2110.06848) remove the positive pair
from the InfoNCE denominator,

    L_DCL(i) = -s(z1_i, z2_i)/tau
               + log sum_{j != i} [exp(s(z1_i, z1_j)/tau) + exp(s(z1_i, z2_j)/tau)]

because the gradient of NT-Xent carries the negative-positive coupling factor
``q_i = 1 - exp(s_ii/tau) / (exp(s_ii/tau) + sum_j exp(s_ij/tau))``, which shrinks when there are
few negatives (small batches) and easy positives. Their claim: DCL's linear-probe accuracy falls
less than NT-Xent's when the batch shrinks (256 -> 32), with the number of epochs held equal (a
smaller batch takes proportionally more steps) and the same temperature for both losses (tau = 0.1
in the DCL reference code and lightly's ``DCLLoss``).

:func:`run_batch_size_study` trains every (loss, batch size, seed) with the same optimiser,
schedule shape, epochs and temperature (the learning rate follows ``lr_scaling``, below), records
a learning curve (mean training loss per epoch and a kNN probe every few epochs, to show the run
has flattened out), probes the frozen encoder with the cross-validated linear probe of
:func:`cl_vision.evaluation.encoder_scores`, and writes one JSON file per run as soon as it
finishes (a rerun skips finished runs and resumes an interrupted one from its checkpoint).
:func:`summarize_drops` gives, per loss, the drop ``acc(large batch) - acc(small batch)`` per seed
with its mean and sample standard deviation, and the paired gap ``drop_NT-Xent - drop_DCL``.

What the protocols hold equal between batch sizes (``lr_scaling``):

* Epochs: equal. The reference code's batch-size table (raminnakhli/Decoupled-Contrastive-Learning
  ``README.md``: ResNet-18, CIFAR-10/100, batch 32/64/128/256, tau = 0.1) trains every batch size
  for 100 pre-training + 100 linear-probe epochs, and ``run_simclr.sh`` sets ``--epochs 100``
  whatever ``--batch_size`` is; the DCL paper states its budgets in epochs too (abstract: batch 256
  within 200 epochs).
* Learning rate: the reference code keeps it fixed - ``optim.Adam(lr=1e-3, weight_decay=1e-6)``,
  no schedule, the same for every batch size (``experiment/simclr/main.py``). The DCL paper builds
  on SimCLR, whose recipe (Chen et al., ICML 2020, arXiv:2002.05709, Sec. 2.2 and Appendix B.1)
  is LARS with ``lr = 0.3 x B / 256`` (linear scaling), with ``lr = 0.075 x sqrt(B)`` noted as
  better for small batches. The stored excerpts of the DCL paper stop after its introduction, so
  which rule its own batch-size runs used is not verified here; linear scaling, SimCLR's default,
  is the protocol tested against the fixed rate.

``lr_scaling="none"`` (the default, as in the reference code) gives every batch size the same
``lr``; ``"linear"`` gives ``lr x B / 256`` and ``"sqrt"`` gives ``lr x sqrt(B / 256)``, i.e. ``lr``
is then the rate at batch 256. The rule is part of every run's name and JSON, so runs of two
protocols never share a result file, and :func:`summarize_drops` refuses to mix them.

Run it (a few hours at the default sizes on one idle CPU core; add ``--lr-scaling linear`` for
SimCLR's rule)::

    python -m cl_vision.batch_size_study --out runs/dcl-batch --train-limit 5000 --epochs 20
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

from cl_core.cli import UserFacingError
from cl_core.evaluation import knn_accuracy
from cl_core.io import atomic_path, atomic_write_text
from cl_vision.data import ImageSplit, balanced_indices
from cl_vision.evaluation import encoder_scores, raw_pixel_scores
from cl_vision.methods import method_spec
from cl_vision.training import TrainConfig, build_module, train
from cl_vision.views import default_augmentation

#: The two losses compared, by their ``cl_vision.methods`` names.
STUDY_METHODS: tuple[str, str] = ("simclr", "dcl")

#: Learning-rate rules across batch sizes (see the module docstring).
LR_SCALINGS: tuple[str, ...] = ("none", "linear", "sqrt")

#: Batch size at which ``lr`` applies unchanged under ``"linear"`` and ``"sqrt"`` (SimCLR's 256).
LR_REFERENCE_BATCH = 256


def scaled_lr(lr: float, batch_size: int, lr_scaling: str) -> float:
    """The learning rate of a run at ``batch_size`` under a batch-size rule.

    ``"none"``: ``lr``; ``"linear"``: ``lr x B / 256``; ``"sqrt"``: ``lr x sqrt(B / 256)``
    (SimCLR, Chen et al. 2020, arXiv:2002.05709, Sec. 2.2 and Appendix B.1).

    Args:
        lr: the rate at batch 256 (or at every batch size under ``"none"``), > 0.
        batch_size: images per step B, >= 1.
        lr_scaling: one of :data:`LR_SCALINGS`.

    Returns:
        The learning rate of the run.

    Example:
        >>> scaled_lr(2e-3, 32, "linear")
        0.00025
    """
    if lr_scaling not in LR_SCALINGS:
        raise ValueError(f"lr_scaling must be one of {LR_SCALINGS}, got {lr_scaling!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    ratio = batch_size / LR_REFERENCE_BATCH
    if lr_scaling == "linear":
        return lr * ratio
    if lr_scaling == "sqrt":
        return lr * math.sqrt(ratio)
    return lr


@dataclass(frozen=True)
class BatchSizeStudy:
    """Settings shared by every run of the study (only the batch size and the seed vary).

    Attributes:
        methods: the losses compared (``cl_vision.methods`` names).
        batch_sizes: ``(large, small)``.
        seeds: one run per (method, batch size, seed); the seed sets weights, order and views.
        epochs: epochs of every run (held equal across batch sizes, as in the paper).
        temperature: tau of both losses.
        lr: peak AdamW learning rate: of every run under ``lr_scaling="none"``, at batch 256
            under ``"linear"`` / ``"sqrt"``.
        lr_scaling: how the learning rate follows the batch size (:func:`scaled_lr`).
        curve_every: epochs between two kNN points of the learning curve.
        curve_images: training and test images of the curve's kNN probe (each).
    """

    methods: tuple[str, ...] = STUDY_METHODS
    batch_sizes: tuple[int, int] = (256, 32)
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 20
    temperature: float = 0.1
    lr: float = 2e-3
    lr_scaling: str = "none"
    curve_every: int = 4
    curve_images: int = 2000

    def __post_init__(self) -> None:
        if len(self.batch_sizes) != 2 or not self.batch_sizes[0] > self.batch_sizes[1] >= 2:
            raise ValueError(
                "batch_sizes must be (large, small) with large > small >= 2, got "
                f"{self.batch_sizes}"
            )
        if not self.methods or not self.seeds:
            raise ValueError(
                f"methods and seeds must be non-empty, got {self.methods} and {self.seeds}"
            )
        for method in self.methods:
            method_spec(method)
        if self.lr_scaling not in LR_SCALINGS:
            raise ValueError(f"lr_scaling must be one of {LR_SCALINGS}, got {self.lr_scaling!r}")
        for name in ("epochs", "curve_every", "curve_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.temperature > 0 or not self.lr > 0:
            raise ValueError(
                f"temperature and lr must be > 0, got {self.temperature} and {self.lr}"
            )

    def config(self, method: str, batch_size: int, seed: int) -> TrainConfig:
        """The :class:`TrainConfig` of one run (its ``lr`` scaled by :meth:`lr_for`)."""
        return TrainConfig(
            method=method,
            epochs=self.epochs,
            batch_size=batch_size,
            lr=self.lr_for(batch_size),
            temperature=self.temperature,
            seed=seed,
        )

    def lr_for(self, batch_size: int) -> float:
        """The learning rate of the runs at ``batch_size``."""
        return scaled_lr(self.lr, batch_size, self.lr_scaling)


def run_name(method: str, batch_size: int, seed: int, lr_scaling: str = "none") -> str:
    """Folder / file stem of one run, e.g. ``dcl-b32-seed1`` (fixed lr, the original name) or
    ``dcl-b32-seed1-lr-linear``."""
    if lr_scaling not in LR_SCALINGS:
        raise ValueError(f"lr_scaling must be one of {LR_SCALINGS}, got {lr_scaling!r}")
    suffix = "" if lr_scaling == "none" else f"-lr-{lr_scaling}"
    return f"{method}-b{batch_size}-seed{seed}{suffix}"


class LearningCurve(pl.Callback):
    """Mean training loss of every epoch and, every ``every`` epochs and at the last one, the kNN
    accuracy of the frozen encoder on fixed probe images; saved to ``path`` after each epoch.

    Points already in ``path`` are kept, so a resumed run continues its curve.

    Args:
        probe: ``(train_x, train_y, test_x, test_y)`` images and labels of the kNN probe.
        path: JSON file of the points.
        every: epochs between two kNN points (>= 1).
    """

    def __init__(
        self,
        probe: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
        path: str | Path,
        every: int,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.probe = probe
        self.path = Path(path)
        self.every = every
        self.points: list[dict[str, float]] = (
            json.loads(self.path.read_text()) if self.path.is_file() else []
        )
        self._losses: list[float] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._losses = []

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._losses.append(float(outputs["loss"]))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        point: dict[str, float] = {"epoch": epoch, "step": trainer.global_step}
        if self._losses:
            point["train_loss"] = sum(self._losses) / len(self._losses)
        if epoch % self.every == 0 or epoch == trainer.max_epochs:
            train_x, train_y, test_x, test_y = self.probe
            point["knn_acc"] = knn_accuracy(
                pl_module.encode(train_x), train_y, pl_module.encode(test_x), test_y, k=20
            )
        self.points = [p for p in self.points if p["epoch"] < epoch] + [point]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self.points, indent=1))


def _curve_probe(
    split: ImageSplit, images: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    train_i = torch.from_numpy(balanced_indices(split.train_y.numpy(), images, seed=0))
    test_i = torch.from_numpy(balanced_indices(split.test_y.numpy(), images, seed=0))
    return (
        split.train_x[train_i],
        split.train_y[train_i],
        split.test_x[test_i],
        split.test_y[test_i],
    )


def run_batch_size_study(
    split: ImageSplit,
    out_dir: str | Path,
    study: BatchSizeStudy = BatchSizeStudy(),
    *,
    progress_bar: bool = False,
    max_steps: int = -1,
) -> list[dict[str, Any]]:
    """Train and probe every (method, batch size, seed) that has no result file yet.

    Args:
        split: the data (labels are used by the probes only).
        out_dir: study folder: ``runs/<name>.json`` per finished run, ``<name>/`` training folders
            (checkpoints, ``curve.json``).
        study: the shared settings.
        progress_bar: show Lightning's progress bar.
        max_steps: stop each run after this many steps (-1: no limit; for tests).

    Returns:
        The result of every run of the study, finished now or before: the settings, the probe
        scores of :func:`cl_vision.evaluation.encoder_scores` (``linear_acc`` with ``linear_c``),
        ``final_train_loss``, ``curve`` and ``train_time_s``.
    """
    out = Path(out_dir)
    probe = _curve_probe(split, study.curve_images)
    results = []
    for seed in study.seeds:
        for method in study.methods:
            for batch_size in study.batch_sizes:
                name = run_name(method, batch_size, seed, study.lr_scaling)
                result_file = out / "runs" / f"{name}.json"
                if result_file.is_file():
                    results.append(json.loads(result_file.read_text()))
                    continue
                config = study.config(method, batch_size, seed)
                curve = LearningCurve(probe, out / name / "curve.json", study.curve_every)
                run = train(
                    config,
                    split,
                    out / name,
                    default_augmentation(split.name),
                    resume="last",
                    callbacks=[curve],
                    progress_bar=progress_bar,
                    max_steps=max_steps,
                )
                result: dict[str, Any] = {
                    "name": name,
                    "method": method,
                    "batch_size": batch_size,
                    "seed": seed,
                    "epochs": study.epochs,
                    "steps": run.samples_seen // batch_size,
                    "temperature": study.temperature,
                    "lr_scaling": study.lr_scaling,
                    "lr": config.lr,
                    **encoder_scores(run.module, split),
                    "final_train_loss": curve.points[-1].get("train_loss", math.nan),
                    "curve": curve.points,
                    "train_time_s": run.train_time_s,
                    "data_card": split.card,
                }
                result_file.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(result_file, json.dumps(result, indent=1))
                results.append(result)
    return results


def study_baselines(split: ImageSplit, out_dir: str | Path) -> dict[str, dict[str, float]]:
    """The same probes on the raw pixels and on the random-init encoder (seed 0), computed once
    and kept in ``out_dir/baselines.json``."""
    path = Path(out_dir) / "baselines.json"
    if path.is_file():
        return json.loads(path.read_text())
    untrained = build_module(
        TrainConfig(seed=0), split.image_shape, split.num_classes, default_augmentation(split.name)
    )
    baselines = {
        "raw pixels": raw_pixel_scores(split),
        "random-init encoder": encoder_scores(untrained, split),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(baselines, indent=1))
    return baselines


def summarize_drops(
    results: Sequence[dict[str, Any]],
    batch_sizes: tuple[int, int] = (256, 32),
    metric: str = "linear_acc",
) -> dict[str, Any]:
    """Per method, the drop of a probe score from the large to the small batch, seed by seed.

    Args:
        results: run results of :func:`run_batch_size_study` of one ``lr_scaling`` protocol (runs
            missing their partner batch size are ignored; results without the key, written before
            the option existed, count as ``"none"``).
        batch_sizes: ``(large, small)``.
        metric: the score compared, a key of every result (``"linear_acc"``: the linear probe,
            ``"knn_acc"``: the kNN probe).

    Returns:
        ``{method: {"drops": {seed: drop}, "mean", "std", "acc_large", "acc_small"}}`` (``std``:
        sample standard deviation over seeds, 0 for one seed) and, when both
        ``simclr`` and ``dcl`` have seeds in common, ``"gap"``: ``drop_simclr - drop_dcl`` per
        common seed with its mean and std (the paper's claim is a positive gap).

    Raises:
        ValueError: the results come from more than one ``lr_scaling`` protocol, or a result
            lacks ``metric``.

    Example:
        >>> rows = [
        ...     {"method": "dcl", "batch_size": 256, "seed": 0, "linear_acc": 0.8},
        ...     {"method": "dcl", "batch_size": 32, "seed": 0, "linear_acc": 0.7},
        ... ]
        >>> round(summarize_drops(rows)["dcl"]["mean"], 3)
        0.1
    """
    protocols = sorted({r.get("lr_scaling", "none") for r in results})
    if len(protocols) > 1:
        raise ValueError(f"results must come from one lr_scaling protocol, got runs of {protocols}")
    missing = [r.get("name", r["method"]) for r in results if metric not in r]
    if missing:
        raise ValueError(f"metric {metric!r} must be a key of every result, missing in {missing}")
    large, small = batch_sizes
    accuracy: dict[tuple[str, int, int], float] = {
        (r["method"], int(r["batch_size"]), int(r["seed"])): float(r[metric]) for r in results
    }
    summary: dict[str, Any] = {}
    for method in sorted({key[0] for key in accuracy}):
        seeds = sorted(
            seed
            for (m, b, seed) in accuracy
            if m == method and b == large and (m, small, seed) in accuracy
        )
        if not seeds:
            continue
        drops = {s: accuracy[(method, large, s)] - accuracy[(method, small, s)] for s in seeds}
        summary[method] = {
            "drops": drops,
            **_mean_std(list(drops.values())),
            "acc_large": _mean_std([accuracy[(method, large, s)] for s in seeds]),
            "acc_small": _mean_std([accuracy[(method, small, s)] for s in seeds]),
        }
    if "simclr" in summary and "dcl" in summary:
        common = sorted(set(summary["simclr"]["drops"]) & set(summary["dcl"]["drops"]))
        gaps = {s: summary["simclr"]["drops"][s] - summary["dcl"]["drops"][s] for s in common}
        if gaps:
            summary["gap"] = {"per_seed": gaps, **_mean_std(list(gaps.values()))}
    return summary


def _mean_std(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def plot_study(results: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Two panels: linear-probe accuracy per batch size (mean +- std over seeds, one line per
    method) and the kNN learning curves of every run (to see that they flattened out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for method in sorted({r["method"] for r in results}):
        sizes = sorted({int(r["batch_size"]) for r in results if r["method"] == method})
        stats = [
            _mean_std(
                [
                    float(r["linear_acc"])
                    for r in results
                    if r["method"] == method and r["batch_size"] == b
                ]
            )
            for b in sizes
        ]
        left.errorbar(
            sizes,
            [s["mean"] for s in stats],
            yerr=[s["std"] for s in stats],
            marker="o",
            capsize=3,
            label=method,
        )
    left.set_xscale("log", base=2)
    left.set_xlabel("batch size")
    left.set_ylabel("linear-probe accuracy (mean +- std over seeds)")
    left.legend()
    for r in results:
        points = [p for p in r["curve"] if "knn_acc" in p]
        right.plot(
            [p["epoch"] for p in points],
            [p["knn_acc"] for p in points],
            linestyle="-" if r["method"] == "dcl" else "--",
            label=r["name"],
        )
    right.set_xlabel("epoch")
    right.set_ylabel("kNN accuracy (probe subset)")
    right.legend(fontsize=6, ncol=2)
    figure.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cl_vision.batch_size_study``: run (or resume) the study on Fashion-MNIST."""
    parser = argparse.ArgumentParser(
        prog="python -m cl_vision.batch_size_study",
        description="NT-Xent vs DCL at batch 256 and 32 on Fashion-MNIST, several seeds; writes "
        "runs/<run>.json after every run, summary.json (with the raw-pixel and random-init "
        "probes) and batch_size_study.png.",
    )
    parser.add_argument("--out", type=Path, required=True, help="study folder")
    parser.add_argument("--data-dir", type=Path, help="folder of the Fashion-MNIST *.gz files")
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(STUDY_METHODS))
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument(
        "--lr", type=float, default=2e-3, help="peak AdamW lr (at batch 256 when scaled)"
    )
    parser.add_argument(
        "--lr-scaling",
        choices=LR_SCALINGS,
        default="none",
        help="lr across batch sizes: none = the same lr for all (default), linear = lr x B/256, "
        "sqrt = lr x sqrt(B/256)",
    )
    args = parser.parse_args(argv)
    from cl_core.threads import torch_threads
    from cl_vision.data import load_fashion_mnist_split

    try:
        study = BatchSizeStudy(
            methods=tuple(args.methods),
            seeds=tuple(args.seeds),
            epochs=args.epochs,
            temperature=args.temperature,
            lr=args.lr,
            lr_scaling=args.lr_scaling,
        )
        split = load_fashion_mnist_split(
            args.data_dir, train_limit=args.train_limit, test_limit=args.test_limit, seed=0
        )
    except (ValueError, OSError, UserFacingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "settings.json", json.dumps(asdict(study), indent=1))
    with torch_threads(1):
        results = run_batch_size_study(split, args.out, study, progress_bar=True)
    summary = summarize_drops(results, study.batch_sizes)
    summary["knn_acc"] = summarize_drops(results, study.batch_sizes, metric="knn_acc")
    summary["baselines"] = study_baselines(split, args.out)
    atomic_write_text(args.out / "summary.json", json.dumps(summary, indent=1))
    plot = plot_study(results, args.out / "batch_size_study.png")
    print(json.dumps(summary, indent=1))
    print(f"plot: {plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
