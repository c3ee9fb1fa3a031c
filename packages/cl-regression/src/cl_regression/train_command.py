"""The work behind ``cl-train regression`` (imports torch; loaded only when the command runs).

Under ``--devices N`` every process runs this command (Lightning starts them) and trains one global
batch; only rank 0 writes ``model.pt`` and ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json

import torch

from cl_core.cli import UserFacingError, engine_options, prepare_out_dir, refuse_engine_options
from cl_core.distributed import rank
from cl_regression.data.csv_table import TableError, load_csv_table
from cl_regression.data.regimes import make_regime_split
from cl_regression.evaluation import distance_spearman, regional_mae
from cl_regression.training import SINGLE_PROCESS_METHODS, TrainConfig, fit_regressor


def train_from_args(args: argparse.Namespace) -> int:
    """Train on ``args.csv``, write ``model.pt`` and ``metrics.json`` to ``args.out``; return 0."""
    from cl_core.training.engine import check_engine

    refuse_engine_options(
        args,
        "cl-train regression trains two short in-memory fits and keeps no checkpoints",
        "resume",
        "checkpoint_every",
    )
    if args.method in SINGLE_PROCESS_METHODS:
        refuse_engine_options(
            args,
            f"{args.method}'s loss has no multi-process (gathered) form; it trains on one process",
            "devices",
            "num_nodes",
        )
    engine = engine_options(args)
    check_engine(engine)
    try:
        table = load_csv_table(args.csv, args.target)
    except TableError as error:
        raise UserFacingError(str(error)) from None
    if not 0 < args.test_fraction < 1:
        raise UserFacingError(f"--test-fraction must lie in (0, 1), got {args.test_fraction}")
    features, targets = table.arrays()
    if len(targets) < 10:
        raise UserFacingError(f"{args.csv}: needs at least 10 complete rows, got {len(targets)}")
    out = prepare_out_dir(args.out)
    split = make_regime_split(targets, "standard", seed=args.seed, test_fraction=args.test_fraction)
    train, test = split.train_index, split.test_index
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=None if args.batch_size is None else max(2, min(args.batch_size, len(train))),
        learning_rate=args.lr,
        num_bins=args.num_bins,
        binning=args.binning,
        protocol=args.protocol,
        finetune_epochs=args.finetune_epochs,
    )
    fitted = fit_regressor(
        args.method, features[train], targets[train], config=config, seed=args.seed, engine=engine
    )
    if rank() != 0:
        return 0
    metrics = regional_mae(fitted.predict(features[test]), targets[test], targets[train])
    if len(test) >= 3:
        metrics["spearman"] = distance_spearman(fitted.embed(features[test]), targets[test])
    metrics.update(
        train_time_s=fitted.train_time_s, num_train=float(len(train)), num_test=float(len(test))
    )
    feature_names = [column for column in table.frame.columns if column != table.target]
    state = {
        **fitted.state(),
        "target": table.target,
        "feature_names": feature_names,
        "config": {**vars(config), "hidden": list(config.hidden)},
    }
    torch.save(state, out / "model.pt")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(
        f"{args.method}: test MAE {metrics['mae']:.4f} on {len(test)} held-out rows of "
        f"{args.csv} (target {table.target!r}); saved {out / 'model.pt'}"
    )
    return 0
