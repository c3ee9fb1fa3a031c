"""The error every cl-text reader raises for a bad input file: it names the file and the line."""

from __future__ import annotations

from pathlib import Path


class DataFileError(ValueError):
    """A data file that cannot be used, with the file path and (where it applies) the 1-based line.

    Example:
        >>> str(DataFileError("data.tsv", "missing column 'label'", line=1))
        "data.tsv:1: missing column 'label'"
    """

    def __init__(self, path: str | Path, message: str, *, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")
