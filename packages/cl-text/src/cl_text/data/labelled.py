"""Labelled texts and sentence pairs for classification fine-tuning (e.g. SICK entailment).

SICK 2014 (Marelli et al., LREC 2014) labels every sentence pair ENTAILMENT, NEUTRAL or
CONTRADICTION; ``SICK_train.txt`` / ``SICK_test_annotated.txt`` are read as they are. Any
CSV/TSV/JSONL file with a text column, an optional second-text column and a label column works too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cl_text.data.errors import DataFileError
from cl_text.data.tables import Row, pick_column, read_table

TEXT_COLUMNS = ("text", "sentence", "sentence1", "sentence_A", "premise")
PAIR_COLUMNS = ("text_pair", "sentence2", "sentence_B", "hypothesis")
CLASS_COLUMNS = ("label", "gold_label", "entailment_judgment")

Input = str | tuple[str, str]


@dataclass(frozen=True)
class LabelledTexts:
    """Texts (or sentence pairs: ``texts[i]`` with ``pairs[i]``) with one class label each."""

    texts: list[str]
    pairs: list[str] | None
    labels: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int) -> LabelledTexts:
        """The first ``n`` examples (a documented slice for quick runs)."""
        pairs = self.pairs[:n] if self.pairs is not None else None
        return LabelledTexts(self.texts[:n], pairs, self.labels[:n])

    def inputs(self) -> list[Input]:
        """What the encoder reads: texts, or (text, pair) tuples tokenised as one sequence."""
        if self.pairs is None:
            return list(self.texts)
        return list(zip(self.texts, self.pairs, strict=True))

    def classes(self) -> list[str]:
        """The distinct labels, sorted."""
        return sorted(set(self.labels))


def read_labelled_texts(path: str | Path) -> LabelledTexts:
    """Labelled texts or sentence pairs from a CSV/TSV/JSONL file.

    Columns (case-insensitive): text (``text``/``sentence``/``sentence1``/``sentence_A``/
    ``premise``), optional second text (``text_pair``/``sentence2``/``sentence_B``/``hypothesis``)
    and label (``label``/``gold_label``/``entailment_judgment``).

    Raises:
        DataFileError: unreadable file, missing columns, or an empty text or label (naming the
            line).

    Example:
        >>> sick = read_labelled_texts("sts/sick2014/SICK_train.txt")  # doctest: +SKIP
        >>> sick.classes()  # doctest: +SKIP
        ['CONTRADICTION', 'ENTAILMENT', 'NEUTRAL']
    """
    table = read_table(path)
    first = table.rows[0]
    text = pick_column(path, first, TEXT_COLUMNS, "text", line=table.header_line)
    label = pick_column(path, first, CLASS_COLUMNS, "label", line=table.header_line)
    pair = _optional_column(first, PAIR_COLUMNS)
    texts, pairs, labels = [], [], []
    for row, line in zip(table.rows, table.lines, strict=True):
        texts.append(_non_empty(path, row, text, line))
        labels.append(_non_empty(path, row, label, line))
        if pair is not None:
            pairs.append(_non_empty(path, row, pair, line))
    return LabelledTexts(texts, pairs if pair is not None else None, labels)


def _optional_column(row: Row, candidates: tuple[str, ...]) -> str | None:
    lowered = {name.lower(): name for name in row}
    return next((lowered[c.lower()] for c in candidates if c.lower() in lowered), None)


def _non_empty(path: str | Path, row: Row, column: str, line: int) -> str:
    value = row[column].strip()
    if not value:
        raise DataFileError(path, f"empty value in column {column!r}", line=line)
    return value
