"""``cl-train graph``: train MEOW, AdaMEOW or the cross-view baseline on a HeCo-format graph.

Training goes through the kernel's engine with the shared engine options (``--accelerator``,
``--precision``, ``--resume``, ``--checkpoint-every``, ``--out``, ``--seed``; logs and checkpoints
in ``--out``). It runs one process: full-graph training has a single batch per step - the whole
graph - so data parallelism has nothing to shard (every process would compute the same loss), and
``--devices`` above 1, ``--num-nodes`` above 1, ``--strategy`` and ``--local-negatives`` are
refused in one line. So are ``--precision bf16-true``, ``16-true`` and ``64-true`` (the graph's
float32 tensors are not cast; ``32-true``, ``bf16-mixed`` and, on a GPU, ``16-mixed`` run), and
``--accelerator gpu`` without a GPU.

Registering the sub-command imports only the standard library and ``cl_core.cli``.
"""

from __future__ import annotations

import argparse

from cl_core.cli import (
    UserFacingError,
    add_common_args,
    positive_float,
    positive_int,
    refuse_engine_options,
    run_with_user_errors,
)

DATASETS = ("acm", "dblp", "aminer", "freebase")
#: The precisions graph training runs: the model's weights stay float32 (a ``*-true`` precision
#: would cast them, but not the graph's float32 features and sparse matrices).
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
#: Why the data-parallel options are refused.
SINGLE_PROCESS_REASON = (
    "full-graph training has one batch per step (the whole graph) and nothing to shard, "
    "so it runs one process on one device"
)
METHOD_CHOICES = ("meow", "adameow", "baseline")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``graph`` sub-command to ``cl-train``."""
    parser = subparsers.add_parser(
        "graph",
        help="heterogeneous-graph CL: MEOW, AdaMEOW, cross-view baseline (HeCo format)",
        description=(
            "Train node embeddings of a heterogeneous graph (ACM, DBLP, AMiner, Freebase in the "
            "HeCo layout) and write embeddings.npy plus results.json (Macro-F1, Micro-F1, AUC at "
            "20/40/60 labels per class, k-means NMI/ARI)."
        ),
    )
    parser.add_argument("--method", choices=METHOD_CHOICES, default="meow")
    parser.add_argument("--dataset", choices=DATASETS, default="acm")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder holding heco/<dataset>/ or <dataset>/ (default: $CL_DATA_DIR, the cache, "
        "then the HeCo release download)",
    )
    parser.add_argument(
        "--patience",
        type=positive_int,
        default=30,
        help="epochs without improvement before stopping (default: 30)",
    )
    parser.add_argument(
        "--select-on",
        choices=("loss", "validation"),
        default="validation",
        help="choose the epoch by validation Macro-F1 at 20 labels per class, scored every 5 "
        "epochs (test nodes unseen), or by the training loss as the authors do; the noisy MEOW "
        "loss tends to stop too early (default: validation)",
    )
    parser.add_argument(
        "--temperature", type=positive_float, default=None, help="tau (default: per data set)"
    )
    add_common_args(parser, epochs=300, batch_size=None, lr=7e-4)
    parser.set_defaults(func=run_graph_command)


def run_graph_command(args: argparse.Namespace) -> int:
    """Run the sub-command; a bad data file ends in one error line and exit status 2."""
    return run_with_user_errors("cl-train graph", lambda: _train(args))


def _train(args: argparse.Namespace) -> int:
    refuse_engine_options(
        args, SINGLE_PROCESS_REASON, "devices", "num_nodes", "strategy", "local_negatives"
    )
    if args.precision not in PRECISIONS:
        raise UserFacingError(
            f"--precision {args.precision} is not supported here: graph training runs"
            f" {', '.join(PRECISIONS)} (the graph's features and sparse matrices stay float32)"
        )
    import json
    from dataclasses import asdict

    import numpy as np

    from cl_core.cli import engine_options, prepare_out_dir
    from cl_core.training import check_engine
    from cl_graph.data import HecoFormatError, load_heco
    from cl_graph.experiment import config_for, feature_baseline, run_experiment

    engine = engine_options(args)
    check_engine(engine)
    out = prepare_out_dir(args.out)
    try:
        graph = load_heco(args.dataset, args.data_dir)
    except HecoFormatError as error:
        raise UserFacingError(str(error)) from None
    overrides: dict[str, object] = {
        "method": args.method,
        "epochs": args.epochs,
        "patience": args.patience,
        "lr": args.lr,
        "select_on": args.select_on,
    }
    if args.temperature is not None:
        overrides["temperature"] = args.temperature
    config = config_for(args.dataset, **overrides)
    result = run_experiment(graph, config, seeds=(args.seed,), engine=engine, out_dir=out)
    np.save(out / "embeddings.npy", result.runs[0].embeddings)
    report = {
        "method": args.method,
        "dataset": args.dataset,
        "data_card": graph.card,
        "metrics": result.summary,
        "features_only_logreg": feature_baseline(graph),
        "train_time_s": result.train_time_s,
        "best_epoch": result.runs[0].best_epoch,
        "losses": result.runs[0].losses,
        "validation_macro_f1": result.runs[0].validation_scores,
        "semantic_attention": result.runs[0].attention,
        "config": result.runs[0].config,
        "engine": asdict(engine),
    }
    (out / "results.json").write_text(json.dumps(report, indent=2))
    summary = result.summary
    print(
        f"{args.method} on {args.dataset}: Macro-F1@20 {summary['macro_f1@20']:.2f}, "
        f"Micro-F1@20 {summary['micro_f1@20']:.2f}, AUC@20 {summary['auc@20']:.2f}, "
        f"NMI {summary['nmi']:.2f}, ARI {summary['ari']:.2f} -> {out}"
    )
    return 0
