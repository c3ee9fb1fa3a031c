"""A word vocabulary for the small trainable text towers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

_WORD = re.compile(r"[a-z0-9]+")

PAD, UNKNOWN = "<pad>", "<unk>"


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words of ``text``."""
    return _WORD.findall(text.lower())


class WordVocabulary:
    """Word to index map with padding (index 0) and unknown (index 1) entries.

    Example:
        >>> vocab = WordVocabulary.build(["a red circle", "a blue square"])
        >>> ids, lengths = vocab.encode(["a red square", "a green circle"])
        >>> ids.shape, lengths.tolist()
        (torch.Size([2, 3]), [3, 3])
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        if len(tokens) < 2 or tokens[0] != PAD or tokens[1] != UNKNOWN:
            raise ValueError(f"tokens must start with {PAD!r}, {UNKNOWN!r}, got {list(tokens[:2])}")
        self.tokens = tuple(tokens)
        self.index = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> WordVocabulary:
        """Every word seen at least ``min_count`` times in ``texts``, in order of first sight."""
        counts: dict[str, int] = {}
        for text in texts:
            for word in words(text):
                counts[word] = counts.get(word, 0) + 1
        return cls([PAD, UNKNOWN, *(word for word, n in counts.items() if n >= min_count)])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, texts: Sequence[str], max_words: int = 32) -> tuple[Tensor, Tensor]:
        """Padded word ids (B, L) and lengths (B,), at most ``max_words`` words; empty texts get one
        unknown word so that every row has length >= 1."""
        rows = [[self.index.get(w, 1) for w in words(text)][:max_words] or [1] for text in texts]
        lengths = torch.tensor([len(row) for row in rows])
        ids = torch.zeros(len(rows), int(lengths.max()) if rows else 1, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
        return ids, lengths
