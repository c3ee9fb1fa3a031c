"""NLI data as (anchor, positive, hard negative) triplets for supervised SimCSE and ViCLSR.

The adapter follows supervised SimCSE (Gao, Yao, Chen, "SimCSE: Simple Contrastive Learning of
Sentence Embeddings", EMNLP 2021, arXiv:2104.08821) and ViCLSR (Huynh et al., 2026,
arXiv:2603.21084): for a premise p, a hypothesis labelled *entailment* is the positive and a
hypothesis labelled *contradiction* with the same premise is the hard negative. Contradiction is
symmetric, so a pair (p, h) labelled contradiction also serves premise h; and when p entails h+, a
sentence contradicting h+ also contradicts p (p and c together would imply h+ and c), so it is used
when p has no contradiction of its own.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cl_text.data.errors import DataFileError
from cl_text.data.tables import pick_column, read_table

PREMISE_COLUMNS = ("premise", "sentence1", "sentence_A", "sent1")
HYPOTHESIS_COLUMNS = ("hypothesis", "sentence2", "sentence_B", "sent2")
LABEL_COLUMNS = ("label", "gold_label", "entailment_judgment")
TRIPLET_COLUMNS = (("anchor", "sent0"), ("positive", "sent1"), ("negative", "hard_neg"))
ENTAILMENT_LABELS = ("entailment", "0")
CONTRADICTION_LABELS = ("contradiction", "2")


@dataclass(frozen=True)
class Triplet:
    """A sentence, an entailed (positive) sentence and a contradicting (hard negative) sentence."""

    anchor: str
    positive: str
    negative: str


def nli_to_triplets(
    pairs: Iterable[tuple[str, str, str]],
    *,
    entailment_labels: Sequence[str] = ENTAILMENT_LABELS,
    contradiction_labels: Sequence[str] = CONTRADICTION_LABELS,
    seed: int = 0,
) -> list[Triplet]:
    """Turn ``(premise, hypothesis, label)`` pairs into (anchor, positive, hard negative) triplets.

    Each entailment pair (p, h+) becomes one triplet whose negative is a contradiction of p, or
    else of h+ (drawn with ``seed`` when there are several); entailment pairs with neither are
    dropped, as in SimCSE's NLI triplets. Labels are compared case-insensitively.

    Args:
        pairs: ``(premise, hypothesis, label)`` tuples.
        entailment_labels: labels meaning entailment (default ``"entailment"`` or MNLI's ``"0"``).
        contradiction_labels: labels meaning contradiction (default ``"contradiction"`` or ``"2"``).
        seed: seed of the choice among several contradictions.

    Returns:
        The triplets, in the order of the entailment pairs.

    Example:
        >>> nli_to_triplets([("a", "b", "entailment"), ("a", "c", "contradiction")])
        [Triplet(anchor='a', positive='b', negative='c')]
    """
    entail = {label.lower() for label in entailment_labels}
    contradict = {label.lower() for label in contradiction_labels}
    if entail & contradict:
        raise ValueError(
            f"entailment_labels and contradiction_labels overlap: {sorted(entail & contradict)}"
        )
    positives: list[tuple[str, str]] = []
    negatives: dict[str, list[str]] = defaultdict(list)
    for premise, hypothesis, label in pairs:
        kind = label.strip().lower()
        if kind in entail:
            positives.append((premise, hypothesis))
        elif kind in contradict:
            negatives[premise].append(hypothesis)
            negatives[hypothesis].append(premise)
    rng = random.Random(seed)
    triplets = []
    for premise, positive in positives:
        choices = negatives.get(premise) or negatives.get(positive)
        if choices:
            triplets.append(Triplet(premise, positive, rng.choice(choices)))
    return triplets


def read_triplets(path: str | Path, *, seed: int = 0) -> list[Triplet]:
    """Triplets from a CSV/TSV/JSONL file: either triplet columns or NLI columns.

    Accepted layouts (column names case-insensitive):

    * triplets: ``anchor, positive, negative`` (or SimCSE's ``sent0, sent1, hard_neg``);
    * NLI pairs: premise (``premise``/``sentence1``/``sentence_A``), hypothesis
      (``hypothesis``/``sentence2``/``sentence_B``) and label (``label``/``gold_label``/
      ``entailment_judgment``), converted with :func:`nli_to_triplets`. SICK 2014's
      ``SICK_train.txt`` is read as is.

    Raises:
        DataFileError: unreadable file, missing columns, an empty sentence (naming the line), or no
            triplet at all.
    """
    table = read_table(path)
    rows, lines, header = table.rows, table.lines, table.header_line
    first = rows[0]
    lowered = {name.lower() for name in first}
    if all(any(c in lowered for c in names) for names in TRIPLET_COLUMNS):
        columns = [
            pick_column(path, first, names, role, line=header)
            for names, role in zip(TRIPLET_COLUMNS, ("anchor", "positive", "negative"), strict=True)
        ]
        triplets = []
        for row, line in zip(rows, lines, strict=True):
            values = [_non_empty(path, row, column, line) for column in columns]
            triplets.append(Triplet(*values))
        return triplets
    premise = pick_column(path, first, PREMISE_COLUMNS, "premise", line=header)
    hypothesis = pick_column(path, first, HYPOTHESIS_COLUMNS, "hypothesis", line=header)
    label = pick_column(path, first, LABEL_COLUMNS, "label", line=header)
    pairs = [
        (
            _non_empty(path, row, premise, line),
            _non_empty(path, row, hypothesis, line),
            row[label],
        )
        for row, line in zip(rows, lines, strict=True)
    ]
    triplets = nli_to_triplets(pairs, seed=seed)
    if not triplets:
        raise DataFileError(
            path, "no entailment pair with a contradiction of its premise or hypothesis; no triplet"
        )
    return triplets


def _non_empty(path: str | Path, row: dict[str, str], column: str, line: int) -> str:
    value = row[column].strip()
    if not value:
        raise DataFileError(path, f"empty value in column {column!r}", line=line)
    return value
