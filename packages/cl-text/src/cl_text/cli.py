"""``cl-train text``: train a sentence encoder from the command line (import-light registration)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cl_core.cli import (
    UserFacingError,
    add_common_args,
    engine_options,
    non_negative_float,
    positive_float,
    positive_int,
    prepare_out_dir,
    run_with_user_errors,
    trainer_options,
)

CONTRASTIVE_METHODS = ("simcse", "simcse-sup", "debcse", "whitenedcse", "viclsr")
CLASSIFIER_METHODS = ("input-label", "linear-softmax")
METHOD_CHOICES = CONTRASTIVE_METHODS + CLASSIFIER_METHODS
PROG = "cl-train text"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``text`` sub-command to ``cl-train``."""
    parser = subparsers.add_parser(
        "text",
        help="train a sentence encoder (SimCSE, DebCSE, WhitenedCSE, ViCLSR, input-label)",
        description=(
            "Contrastive training of a sentence encoder. Evaluates STS before and after, writes "
            "OUT/results.json and saves the model in sentence-transformers format in OUT/model. "
            "input-label / linear-softmax fine-tune it as a classifier of labelled texts or "
            "sentence pairs (e.g. SICK entailment) and report test accuracy instead."
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
        "premise,hypothesis,label; input-label/linear-softmax: CSV/TSV/JSONL with a text, an "
        "optional second text and a label column (SICK_train.txt works as is)",
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
        help="STS folder with sick2014/ and semeval/2012..2016 (SICK-R + STS12-16 before/after; "
        "plus the Lee document-similarity check from gensim's test data)",
    )
    parser.add_argument(
        "--eval-limit",
        type=positive_int,
        default=None,
        help="evaluate the first N pairs of each set (and of --eval-file)",
    )
    parser.add_argument(
        "--eval-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="input-label/linear-softmax: labelled test file (accuracy and macro-F1)",
    )
    parser.add_argument(
        "--class-descriptions",
        type=Path,
        default=None,
        metavar="JSON",
        help="input-label: JSON object label -> description (default: built-in SICK "
        "descriptions, else the label names)",
    )
    parser.add_argument(
        "--mlm-weight",
        type=non_negative_float,
        default=0.0,
        metavar="LAMBDA",
        help="add SimCSE's MLM auxiliary, L = L_cl + LAMBDA * L_mlm (15%% BERT masking; a fresh "
        "LM head tied to the input embeddings; SimCSE: 0.1; default: 0 = off)",
    )
    parser.add_argument(
        "--mlp-train-only",
        action="store_true",
        help="train through SimCSE's tanh MLP over the pooled embedding and drop it at test "
        "time (the saved model does not contain it)",
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
    from cl_core.training.engine import check_engine
    from cl_text.data import load_lee_corpus, load_sts_benchmarks
    from cl_text.encoder import load_sentence_encoder
    from cl_text.evaluation import sts_table
    from cl_text.training import (
        TextTrainConfig,
        prepare_examples,
        read_training_data,
        train_sentence_encoder,
    )

    check_engine(engine_options(args))
    if not args.train.exists():
        raise UserFacingError(f"--train {args.train}: no such file or folder")
    if args.method in CLASSIFIER_METHODS:
        return _train_classifier(args)
    if (
        args.method == "whitenedcse"
        and not args.local_negatives
        and engine_options(args).world_size_hint() > 1
    ):
        raise UserFacingError(
            "whitenedcse whitens and contrasts each process's own batch (its loss cannot gather "
            "negatives); add --local-negatives to train it that way on several processes"
        )
    eval_sets = load_sts_benchmarks(args.eval_sts) if args.eval_sts is not None else []
    lee = load_lee_corpus() if args.eval_sts is not None else None
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
        mlm_weight=args.mlm_weight,
        mlp_train_only=args.mlp_train_only,
        trainer_options={k: v for k, v in options.items() if k not in ("max_epochs", "seed")},
    )
    results = train_sentence_encoder(
        model, examples, config, out, eval_sets=eval_sets, lee=lee, resume=args.resume
    )
    if results["sts_before"]:
        print(sts_table({"base": results["sts_before"], args.method: results["sts_after"]}))
    if results["lee_before"]:
        print(
            "Lee document similarity (x100), base -> trained: "
            + ", ".join(
                f"{k} {results['lee_before'][k]:.2f} -> {results['lee_after'][k]:.2f}"
                for k in results["lee_after"]
            )
        )
    print(f"model saved to {results['model_dir']}; results in {out / 'results.json'}")
    return 0


def _train_classifier(args: argparse.Namespace) -> int:
    from cl_text.classification import ClassifierTrainConfig, train_text_classifier
    from cl_text.data import read_labelled_texts
    from cl_text.encoder import load_sentence_encoder

    if args.mlm_weight > 0 or args.mlp_train_only:
        raise UserFacingError(
            f"--mlm-weight and --mlp-train-only apply to the contrastive methods, not {args.method}"
        )
    train = read_labelled_texts(args.train)
    if args.max_sentences is not None:
        train = train.head(args.max_sentences)
    test = read_labelled_texts(args.eval_file) if args.eval_file is not None else None
    if test is not None and args.eval_limit is not None:
        test = test.head(args.eval_limit)
    descriptions = _read_descriptions(args.class_descriptions) if args.class_descriptions else None
    if len(train.classes()) < 2:
        raise UserFacingError(
            f"--train {args.train}: needs at least 2 classes, got {train.classes()}"
        )
    if len(train) < args.batch_size:
        raise UserFacingError(
            f"--train {args.train}: {len(train)} training examples, fewer than --batch-size "
            f"{args.batch_size}"
        )
    out = prepare_out_dir(args.out)
    model = load_sentence_encoder(args.base_model, max_seq_len=args.max_seq_len)
    options = trainer_options(args)
    config = ClassifierTrainConfig(
        objective=args.method,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        max_seq_len=args.max_seq_len,
        temperature=args.temperature,
        seed=args.seed,
        max_steps=args.max_steps or -1,
        trainer_options={k: v for k, v in options.items() if k not in ("max_epochs", "seed")},
    )
    try:
        results = train_text_classifier(
            model, train, config, out, test=test, descriptions=descriptions, resume=args.resume
        )
    except ValueError as error:
        raise UserFacingError(str(error)) from None
    for name in ("test_before", "test_after"):
        if results[name]:
            scores = ", ".join(f"{k} {v:.2f}" for k, v in results[name].items())
            print(f"{name.replace('_', ' ')}: {scores}")
    print(f"model saved to {results['model_dir']}; results in {out / 'results.json'}")
    return 0


def _read_descriptions(path: Path) -> dict[str, str]:
    import json

    from cl_text.data import DataFileError

    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataFileError(path, error.strerror or "cannot be read") from None
    except UnicodeDecodeError:
        raise DataFileError(path, "not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise DataFileError(path, f"invalid JSON ({error.msg})", line=error.lineno) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
    ):
        raise DataFileError(path, "expected a JSON object mapping each label to a description")
    return value
