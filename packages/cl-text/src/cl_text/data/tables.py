"""Reading CSV, TSV and JSONL files into rows of named string columns, with file/line errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cl_text.data.errors import DataFileError
from cl_text.data.text_lines import read_lines

Row = dict[str, str]


@dataclass(frozen=True)
class Table:
    """Rows of a file with the 1-based line of each row and of the header (1 for JSONL)."""

    rows: list[Row]
    lines: list[int]
    header_line: int


def read_table(path: str | Path) -> Table:
    """Rows of a ``.csv``, ``.tsv``/``.txt`` (tab-separated, header line) or ``.jsonl`` file.

    Args:
        path: the file; the suffix selects the format.

    Returns:
        A :class:`Table`: each row maps column name to its (string) value; blank lines are
        skipped and ``lines[i]`` is the 1-based line of ``rows[i]``.

    Raises:
        DataFileError: missing file, bad UTF-8, bad JSON, a row with the wrong number of fields,
            or no data row (each naming the line where it applies).
    """
    file = Path(path)
    numbered = [(n, line) for n, line in read_lines(file) if line.strip()]
    if not numbered:
        raise DataFileError(file, "contains only empty lines; expected a header and data rows")
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        rows = [_json_row(file, n, line) for n, line in numbered]
        return Table(rows, [n for n, _ in numbered], numbered[0][0])
    delimiter = "," if suffix == ".csv" else "\t"
    parsed = list(csv.reader([line for _, line in numbered], delimiter=delimiter))
    header = [name.strip() for name in parsed[0]]
    rows: list[Row] = []
    for (number, _), fields in zip(numbered[1:], parsed[1:], strict=True):
        if len(fields) != len(header):
            raise DataFileError(
                file,
                f"expected {len(header)} fields like the header, got {len(fields)}",
                line=number,
            )
        rows.append(dict(zip(header, fields, strict=True)))
    if not rows:
        raise DataFileError(file, "has a header but no data rows", line=numbered[0][0])
    return Table(rows, [n for n, _ in numbered[1:]], numbered[0][0])


def _json_row(file: Path, number: int, line: str) -> Row:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataFileError(file, f"invalid JSON ({error.msg})", line=number) from None
    if not isinstance(value, dict):
        raise DataFileError(
            file, f"expected a JSON object, got {type(value).__name__}", line=number
        )
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def pick_column(
    file: str | Path, row: Row, candidates: Sequence[str], role: str, *, line: int
) -> str:
    """The first of ``candidates`` present in ``row`` (case-insensitive), else a DataFileError."""
    lowered = {name.lower(): name for name in row}
    for name in candidates:
        if name.lower() in lowered:
            return lowered[name.lower()]
    raise DataFileError(
        file,
        f"missing the {role} column: expected one of {list(candidates)}, got columns {list(row)}",
        line=line,
    )
