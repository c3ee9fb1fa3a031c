"""Benchmark recipes of cl-text for ``cl-bench`` (import-light: no torch here)."""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

SICK_NLI = BenchDataset(
    name="sick-nli",
    kind="real",
    card=(
        "SICK 2014 train (Marelli et al., LREC 2014; CC BY-NC-SA 3.0): real human entailment "
        "labels, "
        "turned into 506 (premise, entailment, contradiction) triplets; evaluated on real STS "
        "(SICK-R test, SemEval STS12-16)."
    ),
    requires=("sick", "sts"),
)
WORDNET = BenchDataset(
    name="wordnet",
    kind="real",
    card=(
        "WordNet 3.0 glosses and example sentences (Princeton; Debian wordnet-base, "
        "/usr/share/wordnet) as real unlabelled sentences; evaluated on real STS (SICK-R test, "
        "SemEval STS12-16)."
    ),
    requires=("wordnet", "sick", "sts"),
)

SICK_ENTAILMENT = BenchDataset(
    name="sick-entailment",
    kind="real",
    card=(
        "SICK 2014 (Marelli et al., LREC 2014; CC BY-NC-SA 3.0) as 3-way sentence-pair "
        "classification with its real human labels (ENTAILMENT / NEUTRAL / CONTRADICTION): "
        "train on SICK_train, accuracy and macro-F1 on SICK_test_annotated."
    ),
    requires=("sick",),
)

_RUN = "cl_text.bench_run:run_{}"
#: Headline of the STS rows: the average Spearman over STS12-16 and SICK-R (x100).
STS_AVERAGE = "STS Avg. (Spearman x100)"

RECIPES: tuple[BenchRecipe, ...] = (
    BenchRecipe(
        "simcse-sup",
        "text",
        (SICK_NLI,),
        _RUN.format("simcse_sup"),
        paper="Gao et al., SimCSE, EMNLP 2021, arXiv:2104.08821",
        headline=STS_AVERAGE,
    ),
    BenchRecipe(
        "viclsr",
        "text",
        (SICK_NLI,),
        _RUN.format("viclsr"),
        paper="Huynh et al., ViCLSR, 2026, arXiv:2603.21084",
        headline=STS_AVERAGE,
    ),
    BenchRecipe(
        "simcse",
        "text",
        (WORDNET,),
        _RUN.format("simcse"),
        paper="Gao et al., SimCSE, EMNLP 2021, arXiv:2104.08821",
        headline=STS_AVERAGE,
    ),
    BenchRecipe(
        "debcse",
        "text",
        (WORDNET,),
        _RUN.format("debcse"),
        paper="Miao et al., DebCSE, CIKM 2023",
        headline=STS_AVERAGE,
    ),
    BenchRecipe(
        "whitenedcse",
        "text",
        (WORDNET,),
        _RUN.format("whitenedcse"),
        paper="Zhuo et al., WhitenedCSE, ACL 2023",
        headline=STS_AVERAGE,
    ),
    BenchRecipe(
        "input-label",
        "text",
        (SICK_ENTAILMENT,),
        "cl_text.bench_classification:run_input_label",
        paper="Rethmeier & Augenstein, arXiv:2102.12982 (input-label contrast)",
        headline="test macro-F1 (x100)",
    ),
)
