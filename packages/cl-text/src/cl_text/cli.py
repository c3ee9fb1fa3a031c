"""``cl-train text``: train a sentence encoder from the command line (import-light registration)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cl_core.cli import (
    UserFacingError,
    add_common_args,
    positive_float,
    positive_int,
    prepare_out_dir,
    run_with_user_errors,
    trainer_options,
)

METHOD_CHOICES = ("simcse", "simcse-sup", "debcse", "whitenedcse", "viclsr")
PROG = "cl-train text"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``text`` sub-command to ``cl-train``."""
    parser = subparsers.add_parser(
        "text",
        help="train a sentence encoder (SimCSE, DebCSE, WhitenedCSE, ViCLSR)",
        description=(
            "Contrastive training of a sentence encoder. Evaluates STS before and after, writes "
            "OUT/results.json and saves the model in sentence-transformers format in OUT/model."
        ),
    )
    parser.add_argument(
        "--method", choices=METHOD_CHOICES, default="simcse", help="(default: simcse)"
    )
    parser.add_argument(
        "--train",
        type=Path,
        required=True,
        help="simcse/whitenedcse/debcse: text file (one sentence a line) or a WordNet folder; "
        "simcse-sup/viclsr: CSV/TSV/JSONL with anchor,positive,negative or "
        "premise,hypothesis,label",
    )
    parser.add_argument(
        "--base-model",
        type=Path,
        default=None,
        help="sentence-transformers or Hugging Face encoder folder (default: all-MiniLM-L6-v2)",
    )
    parser.add_argument("--max-seq-len", type=positive_int, default=32, help="(default: 32)")
    parser.add_argument("--temperature", type=positive_float, default=0.05, help="(default: 0.05)")
    parser.add_argument("--max-steps", type=positive_int, default=None, help="stop after N steps")
    parser.add_argument(
        "--max-sentences", type=positive_int, default=None, help="use the first N training examples"
    )
    parser.add_argument(
        "--eval-sts",
        type=Path,
        default=None,
        metavar="DIR",
        help="STS folder with sick2014/ and semeval/2012..2016 (SICK-R + STS12-16 before/after)",
    )
    parser.add_argument(
        "--eval-limit",
        type=positive_int,
        default=None,
        help="evaluate the first N pairs of each set",
    )
    add_common_args(parser, epochs=1, batch_size=64, lr=3e-5)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``cl-train text``; user errors become one line on stderr and exit status 2."""
    return run_with_user_errors(PROG, lambda: _train(args))


def _train(args: argparse.Namespace) -> int:
    from cl_text.data import DataFileError

    try:
        return _train_checked(args)
    except DataFileError as error:
        raise UserFacingError(str(error)) from None


def _train_checked(args: argparse.Namespace) -> int:
    from cl_text.data import load_sts_benchmarks
    from cl_text.encoder import load_sentence_encoder
    from cl_text.evaluation import sts_table
    from cl_text.training import (
        TextTrainConfig,
        prepare_examples,
        read_training_data,
        train_sentence_encoder,
    )

    if not args.train.exists():
        raise UserFacingError(f"--train {args.train}: no such file or folder")
    eval_sets = load_sts_benchmarks(args.eval_sts) if args.eval_sts is not None else []
    if args.eval_limit is not None:
        eval_sets = [s.head(args.eval_limit) for s in eval_sets]
    data = read_training_data(
        args.method, args.train, max_sentences=args.max_sentences, seed=args.seed
    )
    out = prepare_out_dir(args.out)
    model = load_sentence_encoder(args.base_model, max_seq_len=args.max_seq_len)
    examples = prepare_examples(args.method, data, model, seed=args.seed)
    if len(examples) < args.batch_size:
        raise UserFacingError(
            f"--train {args.train}: {len(examples)} training examples, fewer than --batch-size "
            f"{args.batch_size}"
        )
    options = trainer_options(args)
    config = TextTrainConfig(
        method=args.method,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        max_seq_len=args.max_seq_len,
        temperature=args.temperature,
        seed=args.seed,
        max_steps=args.max_steps or -1,
        trainer_options={k: v for k, v in options.items() if k not in ("max_epochs", "seed")},
    )
    results = train_sentence_encoder(
        model, examples, config, out, eval_sets=eval_sets, resume=args.resume
    )
    if results["sts_before"]:
        print(sts_table({"base": results["sts_before"], args.method: results["sts_after"]}))
    print(f"model saved to {results['model_dir']}; results in {out / 'results.json'}")
    return 0
