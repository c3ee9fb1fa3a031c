"""Preference pairs from chosen/rejected JSON Lines files (Anthropic HH-RLHF format).

Each line of the file is one JSON object with a ``"chosen"`` and a ``"rejected"`` string: the same
dialogue, ending in the response a human preferred and the one they rejected. Plain ``.jsonl`` and
gzip-compressed ``.jsonl.gz`` files are read.

Reference: Bai et al., "Training a Helpful and Harmless Assistant with Reinforcement Learning from
Human Feedback", 2022, arXiv:2204.05862 (the HH-RLHF data, MIT licence).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HH_HARMLESS_RELATIVE_PATH = Path("hh-rlhf") / "harmless-base-test.jsonl.gz"
HH_HARMLESS_CARD = (
    "Real: Anthropic HH-RLHF harmless-base test split, 2,312 human preference pairs "
    "(chosen/rejected dialogues; Bai et al. 2022, arXiv:2204.05862; MIT licence)."
)
HH_HARMLESS_URL = (
    "https://huggingface.co/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz"
)


class PairFileError(ValueError):
    """A preference-pair file is missing or malformed; the message names the file and the line."""


@dataclass(frozen=True)
class PreferencePairs:
    """Parallel lists of preferred and rejected texts (row i is one human comparison).

    Attributes:
        chosen: the texts a human preferred.
        rejected: the texts a human rejected, in the same order.
        source: where the pairs came from (file path or a description).
    """

    chosen: tuple[str, ...]
    rejected: tuple[str, ...]
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.chosen) != len(self.rejected):
            raise ValueError(
                f"chosen and rejected must have the same length, got {len(self.chosen)} and "
                f"{len(self.rejected)}"
            )

    def __len__(self) -> int:
        return len(self.chosen)

    def subset(self, indices: Sequence[int]) -> PreferencePairs:
        """The pairs at ``indices``, in that order."""
        return PreferencePairs(
            tuple(self.chosen[i] for i in indices),
            tuple(self.rejected[i] for i in indices),
            self.source,
        )


def load_preference_pairs(
    path: str | os.PathLike[str], *, limit: int | None = None
) -> PreferencePairs:
    """Read chosen/rejected pairs from a ``.jsonl`` or ``.jsonl.gz`` file.

    Blank lines are skipped. Every other line must be a JSON object with non-empty string fields
    ``"chosen"`` and ``"rejected"`` (other fields are ignored).

    Args:
        path: the JSON Lines file.
        limit: read at most this many pairs (the first ones in the file); ``None`` reads all.

    Returns:
        The pairs, with ``source`` set to the path.

    Raises:
        PairFileError: the file is missing or unreadable, a line is not a JSON object with the two
            string fields, or the file holds no pair. The message names the file and the line.

    Example:
        >>> import json, tempfile, pathlib
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "pairs.jsonl"
        >>> _ = file.write_text(json.dumps({"chosen": "good", "rejected": "bad"}) + "\\n")
        >>> load_preference_pairs(file).chosen
        ('good',)
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be None or >= 1, got {limit}")
    file = Path(path)
    if not file.is_file():
        raise PairFileError(f"{file}: no such file")
    chosen: list[str] = []
    rejected: list[str] = []
    opener = gzip.open if file.name.endswith(".gz") else open
    try:
        with opener(file, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                good, bad = _parse_line(line, file, number)
                chosen.append(good)
                rejected.append(bad)
                if limit is not None and len(chosen) == limit:
                    break
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise PairFileError(f"{file}: cannot be read ({error})") from None
    if not chosen:
        raise PairFileError(f"{file}: holds no preference pair")
    return PreferencePairs(tuple(chosen), tuple(rejected), str(file))


def _parse_line(line: str, file: Path, number: int) -> tuple[str, str]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise PairFileError(f"{file}:{number}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise PairFileError(
            f"{file}:{number}: expected a JSON object with 'chosen' and 'rejected', got "
            f"{type(record).__name__}"
        )
    texts = []
    for key in ("chosen", "rejected"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            raise PairFileError(
                f"{file}:{number}: field {key!r} must be a non-empty string, got {value!r:.40}"
            )
        texts.append(value)
    return texts[0], texts[1]


def load_hh_harmless(
    data_dir: str | os.PathLike[str] | None = None, *, limit: int | None = None
) -> PreferencePairs:
    """The 2,312 real HH-RLHF harmless-base test pairs.

    Args:
        data_dir: folder holding ``hh-rlhf/harmless-base-test.jsonl.gz`` (``shared/data`` here);
            the source chain (:mod:`cl_core.datasets.sources`, requirement ``"hh-rlhf"``) also
            searches ``$CL_DATA_DIR`` and the cache, then downloads :data:`HH_HARMLESS_URL`
            (sha256-verified).
        limit: read only the first ``limit`` pairs.

    Raises:
        DataUnavailableError: the file is nowhere and cannot be downloaded.
        PairFileError: the file is malformed.
    """
    from cl_core.datasets.sources import resolve_dataset

    folder = resolve_dataset("hh-rlhf", data_dir)
    return load_preference_pairs(folder / HH_HARMLESS_RELATIVE_PATH.name, limit=limit)
