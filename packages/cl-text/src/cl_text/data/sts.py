"""STS evaluation sets: SICK-R test and SemEval STS 2012-2016 ("all" setting), as in SimCSE.

SICK: Marelli et al., "A SICK cure for the evaluation of compositional distributional semantic
models", LREC 2014. STS12-16: Agirre et al., SemEval 2012-2016 shared tasks. Expected layout (see
``shared/data.md``): ``<sts_dir>/sick2014/SICK_test_annotated.txt`` (TSV with header) and
``<sts_dir>/semeval/<year>/*.test.tsv`` (``score<TAB>s1<TAB>s2``, unscored lines skipped). Without
``sts_dir`` both come from the source chain (:mod:`cl_core.datasets.sources`, requirements ``"sts"``
and ``"sick"``: a ``--data-dir`` / ``$CL_DATA_DIR`` folder, the cache, or the brmson/dataset-sts
files, sha256-verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cl_core.datasets.sources import resolve_dataset
from cl_text.data.errors import DataFileError
from cl_text.data.tables import pick_column, read_table
from cl_text.data.text_lines import read_lines

STS_YEARS = ("2012", "2013", "2014", "2015", "2016")
SICK_TEST = Path("sick2014") / "SICK_test_annotated.txt"


@dataclass(frozen=True)
class STSSet:
    """Sentence pairs with gold similarity scores."""

    name: str
    first: list[str]
    second: list[str]
    scores: list[float]

    def __len__(self) -> int:
        return len(self.scores)

    def head(self, n: int) -> STSSet:
        """The first ``n`` pairs (a documented slice for quick runs)."""
        return STSSet(self.name, self.first[:n], self.second[:n], self.scores[:n])


def read_sick_relatedness(path: str | Path, name: str = "SICK-R") -> STSSet:
    """SICK relatedness pairs (``sentence_A``, ``sentence_B``, ``relatedness_score``)."""
    table = read_table(path)
    rows, lines, header = table.rows, table.lines, table.header_line
    first_col = pick_column(path, rows[0], ("sentence_A",), "first sentence", line=header)
    second_col = pick_column(path, rows[0], ("sentence_B",), "second sentence", line=header)
    score_col = pick_column(path, rows[0], ("relatedness_score",), "score", line=header)
    first, second, scores = [], [], []
    for row, line in zip(rows, lines, strict=True):
        first.append(row[first_col])
        second.append(row[second_col])
        scores.append(_score(path, row[score_col], line))
    return STSSet(name, first, second, scores)


def read_semeval_year(year_dir: str | Path, name: str | None = None) -> STSSet:
    """All scored pairs of one SemEval STS year (its ``*.test.tsv`` files concatenated, sorted)."""
    folder = Path(year_dir)
    files = sorted(folder.glob("*.test.tsv"))
    if not files:
        raise DataFileError(folder, "no *.test.tsv files (expected SemEval STS test sets)")
    first, second, scores = [], [], []
    for file in files:
        for line_number, line in read_lines(file):
            fields = line.split("\t")
            if len(fields) < 3:
                if line.strip():
                    raise DataFileError(
                        file,
                        f"expected score<TAB>s1<TAB>s2, got {len(fields)} fields",
                        line=line_number,
                    )
                continue
            if not fields[0].strip():
                continue
            scores.append(_score(file, fields[0], line_number))
            first.append(fields[1])
            second.append(fields[2])
    return STSSet(name or f"STS{folder.name[-2:]}", first, second, scores)


def load_sts_benchmarks(
    sts_dir: str | Path | None = None,
    *,
    years: tuple[str, ...] = STS_YEARS,
    data_dir: str | Path | None = None,
) -> list[STSSet]:
    """STS12..STS16 (one set per year) followed by SICK-R test.

    Args:
        sts_dir: folder holding ``semeval/`` and ``sick2014/``; without it, the source chain
            finds (or downloads) both, searching ``data_dir``.
        years: the SemEval years to read.
        data_dir: the ``--data-dir`` folder for the source chain (only without ``sts_dir``).

    Raises:
        DataFileError: ``sts_dir`` or a file is missing or malformed.
        DataUnavailableError: without ``sts_dir``, a data set is nowhere and not downloadable.
    """
    if sts_dir is not None:
        root = Path(sts_dir)
        if not root.is_dir():
            raise DataFileError(root, "STS data folder not found (expected sick2014/ and semeval/)")
        semeval, sick = root / "semeval", root / SICK_TEST
    else:
        semeval = resolve_dataset("sts", data_dir)
        sick = resolve_dataset("sick", data_dir) / SICK_TEST.name
    sets = [read_semeval_year(semeval / year) for year in years]
    sets.append(read_sick_relatedness(sick))
    return sets


def _score(path: str | Path, text: str, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise DataFileError(path, f"score {text!r} is not a number", line=line) from None
