"""Reading UTF-8 text files line by line with errors that name the file and line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cl_text.data.errors import DataFileError


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` of a UTF-8 file (1-based, newline stripped).

    Raises:
        DataFileError: the file is missing, is a directory, or is not valid UTF-8 (naming the line).
    """
    file = Path(path)
    if not file.is_file():
        raise DataFileError(file, "no such file")
    with file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataFileError(
                    file, f"not valid UTF-8 ({error.reason} at byte {error.start})", line=number
                ) from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            yield number, text.rstrip("\r\n")
