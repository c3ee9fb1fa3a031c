"""Read any CSV file into a :class:`RegressionTable` with clear one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cl_regression.data.tables import RegressionTable


class TableError(ValueError):
    """A CSV file cannot be used as a regression table; the message names the file."""


def load_csv_table(path: str | Path, target: str) -> RegressionTable:
    """Load ``path`` as a regression table with numeric target column ``target``.

    Non-numeric feature columns become ordinal codes (sorted category order); rows with a missing
    value are dropped.

    Args:
        path: CSV file with a header line.
        target: name of the numeric target column.

    Returns:
        A :class:`RegressionTable` whose data card says the data is user-supplied.

    Raises:
        TableError: missing/empty/unparsable file, missing target column, a non-numeric target
            (naming the first offending data line), no feature column or no complete row.

    Example:
        >>> load_csv_table("houses.csv", "price")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise TableError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        first_line = str(error).splitlines()[0]
        raise TableError(f"{path}: not a readable CSV table ({first_line})") from None
    if frame.empty:
        raise TableError(f"{path}: the file has a header but no data rows")
    if target not in frame.columns:
        raise TableError(
            f"{path}: no column {target!r}; columns are {', '.join(map(str, frame.columns))}"
        )
    numeric_target = pd.to_numeric(frame[target], errors="coerce")
    bad = numeric_target.isna() & frame[target].notna()
    if bool(bad.any()):
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise TableError(
            f"{path}:{row + 2}: target column {target!r} is not numeric "
            f"(value {frame[target].iloc[row]!r})"
        )
    if frame.shape[1] < 2:
        raise TableError(f"{path}: needs at least one feature column besides {target!r}")
    frame[target] = numeric_target
    for column in frame.columns:
        if column != target and not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = pd.Categorical(frame[column]).codes.astype(np.float64)
            frame.loc[frame[column] < 0, column] = np.nan
    frame = frame.dropna().astype(np.float64).reset_index(drop=True)
    if frame.empty:
        raise TableError(f"{path}: no row has a value in every column")
    return RegressionTable(
        name=path.stem,
        frame=frame,
        target=target,
        card=f"User-supplied CSV {path.name} ({len(frame)} complete rows); target {target!r}.",
    )
