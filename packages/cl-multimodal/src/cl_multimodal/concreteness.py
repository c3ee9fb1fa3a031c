r"""Word concreteness scores in [0, 1]: from WordNet, or from a file of psycholinguistic ratings.

ConcretePlant (Im, Madhwal, Gupta, arXiv:2604.13313, 2026) ranks caption words by psycholinguistic
concreteness ratings (e.g. Brysbaert, Warriner, Kuperman 2014, 1-5 scale). Those ratings are not
installed here, so the default scorer reads the WordNet 3.0 database (Miller, "WordNet: a lexical
database for English", CACM 1995; requirement ``"wordnet"`` of :mod:`cl_core.datasets.sources`: the
Debian ``wordnet-base`` package, NLTK's copy or a data folder) and scores a word by how much
of its noun meaning is a physical thing:

.. math::

    c(w) = \frac{\sum_{k} \gamma^{k}\, [\,s_k \sqsubseteq \text{physical\_entity.n.01}\,]}
                {\sum_{k} \gamma^{k}},

over the word's noun senses :math:`s_0, s_1, \dots` in WordNet's frequency order, where
:math:`\sqsubseteq` follows hypernym and instance-hypernym links. Words with no noun sense score
0. This is a proxy, not a rating: WordNet files shapes such as *circle* under *abstraction*, so
they score lower than people would rate them. :func:`load_concreteness_ratings` reads real
ratings when the user has them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from cl_core.datasets.sources import resolve_dataset

#: ``concreteness(word) -> score in [0, 1]``.
ConcretenessScorer = Callable[[str], float]

_PLURAL_RULES = (("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"))
_PLURAL_RULES += (("men", "man"), ("ies", "y"), ("s", ""))


class WordNetConcreteness:
    """Concreteness of a word as the frequency-weighted share of its physical noun senses.

    Args:
        wordnet_dir: folder with ``index.noun`` and ``data.noun`` (WordNet 3.0 database files);
            default: the source chain's ``"wordnet"``
            (:class:`~cl_core.datasets.sources.DataUnavailableError` when it is nowhere).
        decay: weight :math:`\\gamma \\in (0, 1]` of each later sense.

    Example:
        >>> score = WordNetConcreteness()
        >>> score("dog") > score("idea")
        True
    """

    def __init__(self, wordnet_dir: str | Path | None = None, decay: float = 0.5) -> None:
        if not 0 < decay <= 1:
            raise ValueError(f"decay must lie in (0, 1], got {decay}")
        self.wordnet_dir = (
            Path(wordnet_dir) if wordnet_dir is not None else resolve_dataset("wordnet")
        )
        for name in ("index.noun", "data.noun"):
            if not (self.wordnet_dir / name).is_file():
                raise FileNotFoundError(
                    f"WordNet database file {self.wordnet_dir / name} is missing "
                    "(install the Debian package wordnet-base, or pass wordnet_dir)"
                )
        self.decay = decay
        self._senses = _read_noun_index(self.wordnet_dir / "index.noun")
        self._hypernyms = _read_noun_hypernyms(self.wordnet_dir / "data.noun")
        self._physical_root = self._senses["physical_entity"][0]
        self._is_physical = cache(self._descends_from_physical)

    def _descends_from_physical(self, offset: str) -> bool:
        if offset == self._physical_root:
            return True
        return any(self._is_physical(parent) for parent in self._hypernyms.get(offset, ()))

    def _lemma(self, word: str) -> str | None:
        word = word.lower().strip().replace(" ", "_")
        if word in self._senses:
            return word
        for suffix, replacement in _PLURAL_RULES:
            if word.endswith(suffix) and word[: -len(suffix)] + replacement in self._senses:
                return word[: -len(suffix)] + replacement
        return None

    def __call__(self, word: str) -> float:
        """Score of ``word`` in [0, 1]; 0 when WordNet has no noun sense for it."""
        if not isinstance(word, str):
            raise TypeError(f"word must be a str, got {type(word).__name__}")
        lemma = self._lemma(word)
        if lemma is None:
            return 0.0
        weights = [self.decay**rank for rank in range(len(self._senses[lemma]))]
        physical = sum(
            w
            for w, offset in zip(weights, self._senses[lemma], strict=True)
            if self._is_physical(offset)
        )
        return physical / sum(weights)


def _read_noun_index(path: Path) -> dict[str, list[str]]:
    """lemma -> synset offsets in sense order (``index.noun`` format, wndb(5WN))."""
    senses = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith(" "):
                continue
            fields = line.split()
            pointer_count = int(fields[3])
            senses[fields[0]] = fields[6 + pointer_count :]
    return senses


def _read_noun_hypernyms(path: Path) -> dict[str, list[str]]:
    """synset offset -> hypernym and instance-hypernym offsets (``data.noun`` format)."""
    hypernyms = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith(" "):
                continue
            fields = line.split()
            position = 4 + 2 * int(fields[3], 16)
            pointer_count = int(fields[position])
            pointers = fields[position + 1 : position + 1 + 4 * pointer_count]
            hypernyms[fields[0]] = [
                pointers[i + 1] for i in range(0, len(pointers), 4) if pointers[i] in ("@", "@i")
            ]
    return hypernyms


def load_concreteness_ratings(
    path: str | Path, *, low: float = 1.0, high: float = 5.0
) -> Mapping[str, float]:
    """Read ``word,rating`` rows (a header row is allowed) and rescale ratings to [0, 1].

    Args:
        path: CSV file, e.g. the Brysbaert et al. (2014) norms saved as ``Word,Conc.M``.
        low: rating of the most abstract word (1 on Brysbaert's scale).
        high: rating of the most concrete word (5 on Brysbaert's scale).

    Returns:
        Lower-cased word -> (rating - low) / (high - low).

    Raises:
        ValueError: naming the file and line of a malformed row or an out-of-range rating.
    """
    if not high > low:
        raise ValueError(f"high must exceed low, got low={low}, high={high}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"concreteness ratings file {path} does not exist")
    ratings = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{number}: expected 'word,rating', got {row!r}")
            try:
                rating = float(row[1])
            except ValueError:
                if number == 1:
                    continue
                raise ValueError(
                    f"{path}:{number}: rating must be a number, got {row[1]!r}"
                ) from None
            if not low <= rating <= high:
                raise ValueError(
                    f"{path}:{number}: rating must lie in [{low}, {high}], got {rating}"
                )
            ratings[row[0].strip().lower()] = (rating - low) / (high - low)
    if not ratings:
        raise ValueError(f"{path}: no 'word,rating' rows found")
    return ratings
