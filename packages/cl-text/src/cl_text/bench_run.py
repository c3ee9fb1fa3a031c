"""The cl-bench run function of every cl-text recipe: short CPU training, STS before and after.

Profiles:

* ``quick``: 8 steps of batch 32 (``QUICK_STEPS``, ``QUICK_BATCH``), evaluated on the first 100
  pairs (``QUICK_PAIRS``) of each of STS12-16 and SICK-R (a documented subset; the row's notes
  say so).
* ``full``: one epoch (SICK NLI triplets, or the first 20,000 WordNet sentences) with batch 64,
  evaluated on all of STS12-16 ("all" setting) and SICK-R test.

The baseline is the base encoder (all-MiniLM-L6-v2) on the same STS sets, measured in the same
process (once, shared by all rows of a ``cl-bench`` run). Every row also reports the Lee
document-similarity check (50 documents, Pearson and Spearman x 100 against the human matrix).
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from cl_core.registry import BenchContext, BenchResult
from cl_text.bench import RECIPES

#: Learning rate of the supervised rows, chosen on the SICK trial split (1e-5 beat 2e-5, 3e-5 and
#: 5e-5 for MiniLM, 1 epoch, batch 64, tau 0.05); the STS test sets played no part in the choice.
SICK_NLI_LR = 1e-5
QUICK_PAIRS = 100
QUICK_STEPS = 8
QUICK_BATCH = 32
FULL_WORDNET_SENTENCES = 20_000
_RECIPES = {recipe.method: recipe for recipe in RECIPES}


def sick_dir_of(context: BenchContext) -> Path:
    """The SICK 2014 folder, from the source chain (``--data-dir``, ``$CL_DATA_DIR``, cache,
    download)."""
    from cl_core.datasets.sources import resolve_dataset

    return resolve_dataset("sick", context.data_dir)


def row_metrics(sts: dict[str, float], lee: dict[str, float]) -> dict[str, float]:
    """STS and Lee scores under the names the cl-bench table shows."""
    metrics = {f"STS {k} (Spearman x100)": v for k, v in sts.items()}
    metrics.update({f"Lee doc-sim {k} (x100)": v for k, v in lee.items()})
    return metrics


@functools.cache
def _base_encoder_scores(data_dir: Path | None, limit: int | None) -> tuple[tuple[str, float], ...]:
    """STS and Lee of the untouched base encoder, computed once per process for all rows."""
    from cl_text.data import load_lee_corpus, load_sts_benchmarks
    from cl_text.encoder import load_sentence_encoder
    from cl_text.evaluation import evaluate_lee, evaluate_sts

    sets = [s.head(limit) if limit else s for s in load_sts_benchmarks(data_dir=data_dir)]
    model = load_sentence_encoder(max_seq_len=32)
    scores = row_metrics(evaluate_sts(model, sets), evaluate_lee(model, load_lee_corpus()))
    return tuple(scores.items())


def run_method(method: str, context: BenchContext) -> BenchResult:
    """Train ``method`` briefly and return its STS scores next to the base encoder's."""
    from cl_core.datasets.sources import resolve_dataset
    from cl_text.data import load_lee_corpus, load_sts_benchmarks
    from cl_text.encoder import load_sentence_encoder
    from cl_text.training import (
        TextTrainConfig,
        prepare_examples,
        read_training_data,
        train_sentence_encoder,
    )

    recipe = _RECIPES[method]
    dataset = next(d for d in recipe.datasets if d.name == context.dataset)
    quick = context.profile == "quick"
    limit = QUICK_PAIRS if quick else None
    sets = [s.head(limit) if limit else s for s in load_sts_benchmarks(data_dir=context.data_dir)]
    train = (
        sick_dir_of(context) / "SICK_train.txt"
        if dataset.name == "sick-nli"
        else resolve_dataset("wordnet", context.data_dir)
    )
    batch_size = QUICK_BATCH if quick else 64
    max_sentences = QUICK_STEPS * batch_size if quick else FULL_WORDNET_SENTENCES
    model = load_sentence_encoder(max_seq_len=32)
    data = read_training_data(method, train, max_sentences=max_sentences, seed=context.seed)
    examples = prepare_examples(method, data, model, seed=context.seed)
    config = TextTrainConfig(
        method=method,
        batch_size=batch_size,
        lr=SICK_NLI_LR if dataset.name == "sick-nli" else 3e-5,
        seed=context.seed,
        max_steps=QUICK_STEPS if quick else -1,
        trainer_options={
            "tensorboard": False,
            "log_every_n_steps": 1,
            "enable_model_summary": False,
        },
    )
    out = Path(tempfile.mkdtemp(prefix=f"cl-text-{method}-", dir=context.out_dir))
    baseline = dict(_base_encoder_scores(context.data_dir, limit))
    results = train_sentence_encoder(
        model,
        examples,
        config,
        out,
        eval_sets=sets,
        lee=load_lee_corpus(),
        progress_bar=False,
        evaluate_before=False,
    )
    subset = (
        f"first {QUICK_PAIRS} pairs of each of STS12-16 and SICK-R test"
        if quick
        else "all of STS12-16 (all setting) and SICK-R test"
    )
    return BenchResult(
        method=method,
        modality="text",
        dataset=dataset.name,
        data_kind=dataset.kind,
        encoder="all-MiniLM-L6-v2",
        epochs=results["steps"] * batch_size / len(examples),
        metrics=row_metrics(results["sts_after"], results["lee_after"]),
        baselines={"base all-MiniLM-L6-v2": baseline},
        train_time_s=results["train_time_s"],
        samples_per_s=results["samples_per_s"],
        notes=f"{results['steps']} steps, batch {batch_size}; STS on {subset}. {dataset.card}",
    )


def run_simcse(context: BenchContext) -> BenchResult:
    """cl-bench row: unsupervised SimCSE on WordNet sentences."""
    return run_method("simcse", context)


def run_simcse_sup(context: BenchContext) -> BenchResult:
    """cl-bench row: supervised SimCSE on SICK NLI triplets."""
    return run_method("simcse-sup", context)


def run_viclsr(context: BenchContext) -> BenchResult:
    """cl-bench row: ViCLSR (NLI-to-triplet adapter + supervised CL) on SICK."""
    return run_method("viclsr", context)


def run_debcse(context: BenchContext) -> BenchResult:
    """cl-bench row: DebCSE (IPW-mined triplets) on WordNet sentences."""
    return run_method("debcse", context)


def run_whitenedcse(context: BenchContext) -> BenchResult:
    """cl-bench row: WhitenedCSE on WordNet sentences."""
    return run_method("whitenedcse", context)
