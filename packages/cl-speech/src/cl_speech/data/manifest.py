"""The corpus manifest: one CSV row per utterance, read back with errors that name file and line.

Columns: ``path`` (WAV file relative to the manifest's folder), ``transcript``, ``action``,
``object``, ``location``, ``intent`` (``action_object_location``), ``speaker``, ``synthesizer``.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> row = Utterance("wavs/a.wav", "lights on", "activate", "lights", "none",
    ...                 "activate_lights_none", "espeak-ng:en-us:r160:p50", "espeak-ng")
    >>> write_manifest(folder / "manifest.csv", [row])
    >>> read_manifest(folder / "manifest.csv")[0].intent
    'activate_lights_none'
"""

from __future__ import annotations

import csv
import os
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from cl_core.io import atomic_path

MANIFEST_NAME = "manifest.csv"


class ManifestError(ValueError):
    """A manifest file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Utterance:
    """One row of the manifest."""

    path: str
    transcript: str
    action: str
    object: str
    location: str
    intent: str
    speaker: str
    synthesizer: str


COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(Utterance))


def write_manifest(path: str | os.PathLike[str], utterances: list[Utterance]) -> None:
    """Write ``utterances`` to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    with atomic_path(path) as temp, temp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(astuple(utterance) for utterance in utterances)


def read_manifest(path: str | os.PathLike[str]) -> list[Utterance]:
    """Read and check a manifest written by :func:`write_manifest` (or by hand).

    Raises:
        ManifestError: the file is missing, the header lacks a column, a row has the wrong number
            of fields or an empty field, an intent is not ``action_object_location``, or the
            file has no rows. The message names the file and the line.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(
            f"{path}: manifest not found (build it with `cl-train speech make-data`)"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ManifestError(f"{path}: empty file, expected a header line {','.join(COLUMNS)}")
        missing = [column for column in COLUMNS if column not in header]
        if missing:
            raise ManifestError(f"{path}, line 1: header lacks column(s) {', '.join(missing)}")
        positions = [header.index(column) for column in COLUMNS]
        utterances = []
        for line_number, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ManifestError(
                    f"{path}, line {line_number}: expected {len(header)} fields, got {len(row)}"
                )
            values = [row[position].strip() for position in positions]
            empty = [column for column, value in zip(COLUMNS, values, strict=True) if not value]
            if empty:
                raise ManifestError(f"{path}, line {line_number}: empty {', '.join(empty)}")
            utterance = Utterance(*values)
            expected = f"{utterance.action}_{utterance.object}_{utterance.location}"
            if utterance.intent != expected:
                raise ManifestError(
                    f"{path}, line {line_number}: intent {utterance.intent!r} does not match "
                    f"action/object/location ({expected!r})"
                )
            utterances.append(utterance)
    if not utterances:
        raise ManifestError(f"{path}: no utterances after the header")
    return utterances
