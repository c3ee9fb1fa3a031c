"""Unlabelled sentences for unsupervised SimCSE: a text file (one sentence a line) or WordNet.

WordNet 3.0 (Princeton University; Debian package ``wordnet-base``) stores each synset on one
line of ``data.{noun,verb,adj,adv}``; after `` | `` comes the gloss: a definition followed by
quoted example sentences separated by ``;``. Without a folder, :func:`wordnet_glosses` takes it
from the source chain (:mod:`cl_core.datasets.sources`, requirement ``"wordnet"``).
"""

from __future__ import annotations

import re
from pathlib import Path

from cl_core.datasets.sources import resolve_dataset
from cl_text.data.errors import DataFileError
from cl_text.data.text_lines import read_lines

WORDNET_PARTS = ("noun", "verb", "adj", "adv")
_QUOTED = re.compile(r'"([^"]+)"')


def read_sentences(path: str | Path, *, max_sentences: int | None = None) -> list[str]:
    """Non-empty lines of a UTF-8 text file, stripped, in file order.

    Args:
        path: a text file with one sentence per line.
        max_sentences: stop after this many sentences (None: all).

    Returns:
        The sentences.

    Raises:
        DataFileError: missing file, bad UTF-8 (with the line), or no non-empty line.

    Example:
        >>> read_sentences("corpus.txt")  # doctest: +SKIP
        ['A man is playing a guitar.', ...]
    """
    if max_sentences is not None and max_sentences < 1:
        raise ValueError(f"max_sentences must be >= 1 or None, got {max_sentences}")
    sentences: list[str] = []
    for _, line in read_lines(path):
        text = line.strip()
        if text:
            sentences.append(text)
            if max_sentences is not None and len(sentences) >= max_sentences:
                break
    if not sentences:
        raise DataFileError(path, "contains only empty lines; expected one sentence per line")
    return sentences


def wordnet_glosses(
    wordnet_dir: str | Path | None = None,
    *,
    parts: tuple[str, ...] = WORDNET_PARTS,
    include_examples: bool = True,
    max_sentences: int | None = None,
) -> list[str]:
    """WordNet definitions (and quoted example sentences) as unlabelled sentences.

    Args:
        wordnet_dir: folder holding ``data.noun`` etc.; default: the source chain's
            ``"wordnet"`` (the Debian ``wordnet-base`` package, NLTK's copy, ``$CL_DATA_DIR``).
        parts: parts of speech to read, from ``("noun", "verb", "adj", "adv")``.
        include_examples: also return the quoted example sentences of each gloss.
        max_sentences: stop after this many sentences.

    Returns:
        Sentences in file order (definitions first-letter upper-cased).

    Raises:
        DataFileError: the folder or a ``data.<part>`` file is missing (install ``wordnet-base``).
        DataUnavailableError: without ``wordnet_dir``, WordNet is nowhere.
    """
    folder = Path(wordnet_dir) if wordnet_dir is not None else resolve_dataset("wordnet")
    unknown = sorted(set(parts) - set(WORDNET_PARTS))
    if unknown or not parts:
        raise ValueError(f"parts must be a non-empty subset of {WORDNET_PARTS}, got {parts}")
    sentences: list[str] = []
    for part in parts:
        file = folder / f"data.{part}"
        if not file.is_file():
            raise DataFileError(
                file, "WordNet data file not found; install it with `apt-get install wordnet-base`"
            )
        for _, line in read_lines(file):
            if line.startswith("  ") or " | " not in line:
                continue
            gloss = line.split(" | ", 1)[1].strip()
            examples = _QUOTED.findall(gloss)
            definition = _QUOTED.sub("", gloss).strip(" ;")
            if definition:
                sentences.append(definition[0].upper() + definition[1:])
            if include_examples:
                sentences.extend(e.strip() for e in examples if e.strip())
            if max_sentences is not None and len(sentences) >= max_sentences:
                return sentences[:max_sentences]
    return sentences
