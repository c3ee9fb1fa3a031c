"""The cl-bench row of input-label contrast: SICK entailment, against a linear softmax head.

Both objectives fine-tune a fresh copy of all-MiniLM-L6-v2 on SICK 2014 train pairs with the same
batch size, steps, encoder learning rate and seed (:mod:`cl_text.classification`); the row reports
test accuracy and macro-F1 of input-label contrast, and as baselines the linear softmax head, the
zero-shot input-label classifier (class descriptions, before training) and the training majority
class.

Profiles:

* ``quick``: ``QUICK_STEPS`` steps of batch ``QUICK_BATCH``; the first ``QUICK_TEST`` test pairs.
* ``full``: one epoch of SICK train (4,500 pairs) with batch 32; the whole test set (4,927 pairs).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cl_core.registry import BenchContext, BenchResult
from cl_text.bench import SICK_ENTAILMENT
from cl_text.bench_run import sick_dir_of

QUICK_STEPS = 30
QUICK_BATCH = 16
QUICK_TEST = 500
FULL_BATCH = 32


def _percent_metrics(scores: dict[str, float]) -> dict[str, float]:
    names = {"accuracy": "test accuracy (%)", "macro_f1": "test macro-F1 (x100)"}
    return {names[k]: v for k, v in scores.items()}


def run_input_label(context: BenchContext) -> BenchResult:
    """Fine-tune by input-label contrast and by a linear softmax head; compare on SICK test."""
    from cl_text.classification import ClassifierTrainConfig, train_text_classifier
    from cl_text.data import read_labelled_texts
    from cl_text.encoder import load_sentence_encoder

    quick = context.profile == "quick"
    sick = sick_dir_of(context)
    train = read_labelled_texts(sick / "SICK_train.txt")
    test = read_labelled_texts(sick / "SICK_test_annotated.txt")
    if quick:
        test = test.head(QUICK_TEST)
    batch_size = QUICK_BATCH if quick else FULL_BATCH
    runs = {}
    for objective in ("input-label", "linear-softmax"):
        config = ClassifierTrainConfig(
            objective=objective,
            batch_size=batch_size,
            seed=context.seed,
            max_steps=QUICK_STEPS if quick else -1,
            trainer_options={"tensorboard": False, "enable_model_summary": False},
        )
        out = Path(tempfile.mkdtemp(prefix=f"cl-text-{objective}-", dir=context.out_dir))
        runs[objective] = train_text_classifier(
            load_sentence_encoder(max_seq_len=config.max_seq_len),
            train,
            config,
            out,
            test=test,
            progress_bar=False,
        )
    ours, softmax = runs["input-label"], runs["linear-softmax"]
    steps = ours["steps"]
    subset = f"first {QUICK_TEST} test pairs" if quick else f"all {len(test)} test pairs"
    return BenchResult(
        method="input-label",
        modality="text",
        dataset=SICK_ENTAILMENT.name,
        data_kind=SICK_ENTAILMENT.kind,
        encoder="all-MiniLM-L6-v2",
        epochs=steps * batch_size / len(train),
        metrics=_percent_metrics(ours["test_after"]),
        baselines={
            "linear softmax head (same encoder, steps, lr; head lr 1e-3)": _percent_metrics(
                softmax["test_after"]
            ),
            "zero-shot input-label (class descriptions, untrained)": _percent_metrics(
                ours["test_before"]
            ),
            "training majority class": {"test accuracy (%)": ours["test_majority_accuracy"]},
        },
        train_time_s=ours["train_time_s"],
        samples_per_s=steps * batch_size / ours["train_time_s"] if ours["train_time_s"] else 0.0,
        notes=(
            f"{steps} steps, batch {batch_size}, lr 3e-5, tau 0.05, max 64 tokens per pair; "
            f"{subset}. {SICK_ENTAILMENT.card}"
        ),
    )
