"""What ``cl-train speech`` and ``cl-train speech make-data`` run (imported only when they run).

Under ``--devices N`` every process runs ``cl-train speech`` (Lightning starts them) and trains
one global batch; only rank 0 evaluates and writes ``results.json`` and ``accuracy.png``.
"""

from __future__ import annotations

import argparse
import json

from cl_core.cli import UserFacingError, engine_options, prepare_out_dir, refuse_engine_options


def make_data_from_args(args: argparse.Namespace) -> int:
    """Synthesize the corpus into ``args.out``; exit status 0."""
    from cl_speech.data.corpus import build_corpus
    from cl_speech.data.voices import SynthesizerUnavailableError

    out = prepare_out_dir(args.out)
    try:
        manifest = build_corpus(
            out, n_speakers=args.n_speakers, seed=args.seed, workers=args.workers
        )
    except (SynthesizerUnavailableError, RuntimeError) as error:
        raise UserFacingError(str(error)) from None
    print(f"corpus: {manifest} (synthesized audio; see {out / 'DATA_CARD.md'})")
    return 0


def train_from_args(args: argparse.Namespace) -> int:
    """Train ``args.method`` task by task; write results.json, accuracy.png and model.pt (the
    model's weights after the last task); exit status 0."""
    refuse_engine_options(
        args,
        "cl-train speech trains one fit per task and rewrites results.json after each task "
        "instead of keeping checkpoints",
        "resume",
        "checkpoint_every",
    )
    if args.data is None:
        raise UserFacingError(
            "--data CACHE is required (build the corpus with "
            "`cl-train speech make-data --out CACHE`)"
        )
    from cl_core.distributed import rank
    from cl_core.io import atomic_torch_save
    from cl_core.training.engine import check_engine
    from cl_speech.audio import AudioFileError
    from cl_speech.continual import ContinualConfig, run_continual
    from cl_speech.data.manifest import ManifestError
    from cl_speech.dataset import load_slu_data, validation_split
    from cl_speech.plots import plot_seen_accuracy

    engine = engine_options(args)
    check_engine(engine)
    out = prepare_out_dir(args.out)
    try:
        data = load_slu_data(args.data, seed=args.seed)
        config = ContinualConfig(
            method=args.method,
            num_tasks=args.tasks,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            buffer_size=args.buffer_size,
            dropout=args.dropout,
            nspt_weight=args.nspt_weight,
            mm_weight=args.mm_weight,
            temperature=args.temperature,
            seed=args.seed,
        )
        if args.validation:
            data = validation_split(data, seed=args.seed)
        if args.tasks > len(data.intent_names):
            raise UserFacingError(
                f"--tasks must be at most the number of intents ({len(data.intent_names)}), "
                f"got {args.tasks}"
            )
        if config.buffer_size < engine.world_size_hint():
            raise ValueError(
                f"--buffer-size must be at least the {engine.world_size_hint()} processes, "
                f"got {config.buffer_size}"
            )
    except (ManifestError, AudioFileError, ValueError) as error:
        raise UserFacingError(str(error)) from None
    if args.validation and rank() == 0:
        print("scoring on held-out training voices (validation); the test voices are not used")
    result = run_continual(data, config, out_dir=out, engine=engine)
    if rank() != 0:
        return 0
    atomic_torch_save(result.model.state_dict(), out / "model.pt")
    plot_seen_accuracy({args.method: result.seen_accuracy}, out / "accuracy.png")
    print(json.dumps({"method": args.method, **result.summary()}, indent=2))
    print(f"results: {out / 'results.json'}")
    return 0


def sweep_from_args(args: argparse.Namespace) -> int:
    """Sweep COCONUT's hyper-parameters on the validation split over seeds; print the table."""
    from cl_speech.audio import AudioFileError
    from cl_speech.continual import ContinualConfig
    from cl_speech.data.manifest import ManifestError
    from cl_speech.dataset import SLUData, load_slu_data, validation_split
    from cl_speech.sweep import best_point, format_table, run_sweep, sweep_grid

    def load_validation(seed: int) -> SLUData:
        return validation_split(load_slu_data(args.data, seed=seed), seed=seed)

    out = prepare_out_dir(args.out)
    try:
        points = sweep_grid(args.nspt_weights, args.mm_weights, args.temperatures)
        if len(set(args.seeds)) != len(args.seeds):
            raise ValueError(f"--seeds must be distinct, got {args.seeds}")
        n_intents = len(load_validation(args.seeds[0]).intent_names)
        if args.tasks > n_intents:
            raise ValueError(
                f"--tasks must be at most the number of intents ({n_intents}), got {args.tasks}"
            )
        base = ContinualConfig(
            num_tasks=args.tasks, epochs=args.epochs, buffer_size=args.buffer_size
        )
    except (ManifestError, AudioFileError, ValueError) as error:
        raise UserFacingError(str(error)) from None
    print("scoring on held-out training voices (validation); the test voices are not used")
    rows = run_sweep(load_validation, base, points, args.seeds, out, shard=args.shard)
    print(format_table(rows))
    best = best_point(rows)
    print(
        f"best on validation ({len(best['seeds'])} seeds): --nspt-weight {best['nspt_weight']:g} "
        f"--mm-weight {best['mm_weight']:g} --temperature {best['temperature']:g}"
    )
    print(f"results: {out / 'sweep.json'}")
    return 0
