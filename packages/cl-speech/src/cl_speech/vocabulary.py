"""Word-level vocabulary of the decoder: special tokens, one token per intent, transcript words.

The decoder emits ``w_1 ... w_n <intent:NAME> <eos>``: the transcript (scored by word error
rate), then the intent (scored by intent accuracy), as in the seq2seq SLU models of continual-SLU
papers, where the intent is an extra token of the target sequence. Emitting the intent after the
words lets the decoder condition it on its own transcript.

Example:
    >>> vocab = Vocabulary.build(["lights on"], ["activate_lights_none"])
    >>> vocab.encode_target("lights on", "activate_lights_none")
    [5, 6, 4, 2]
    >>> vocab.decode([5, 6, 4, 2])
    ('lights on', 4)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

PAD, BOS, EOS, UNK = 0, 1, 2, 3
_SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


@dataclass(frozen=True)
class Vocabulary:
    """Token strings by id: the 4 specials, then intent tokens, then words (each sorted)."""

    tokens: tuple[str, ...]
    num_intents: int

    @classmethod
    def build(cls, transcripts: Iterable[str], intents: Iterable[str]) -> Vocabulary:
        """Vocabulary of ``intents`` and of every word of ``transcripts``."""
        intent_tokens = sorted({f"<intent:{intent}>" for intent in intents})
        words = sorted({word for text in transcripts for word in text.split()})
        return cls(_SPECIALS + tuple(intent_tokens) + tuple(words), len(intent_tokens))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def first_intent_id(self) -> int:
        """Id of the first intent token; intent tokens are contiguous."""
        return len(_SPECIALS)

    def intent_id(self, intent: str) -> int:
        """Token id of ``intent``.

        Raises:
            KeyError: unknown intent.
        """
        return self._index[f"<intent:{intent}>"]

    def encode_target(self, transcript: str, intent: str) -> list[int]:
        """``[words..., intent, <eos>]``; unknown words become ``<unk>``."""
        words = [self._index.get(word, UNK) for word in transcript.split()]
        return [*words, self.intent_id(intent), EOS]

    def is_intent(self, token_id: int) -> bool:
        """Whether ``token_id`` is an intent token."""
        return self.first_intent_id <= token_id < self.first_intent_id + self.num_intents

    def decode(self, token_ids: Sequence[int]) -> tuple[str, int | None]:
        """The transcript and the first intent token id (None if none) before the first ``<eos>``.

        Special tokens are dropped from the transcript.
        """
        words: list[str] = []
        intent: int | None = None
        for token_id in token_ids:
            if token_id == EOS:
                break
            if self.is_intent(token_id):
                intent = token_id if intent is None else intent
            elif token_id >= self.first_intent_id + self.num_intents:
                words.append(self.tokens[token_id])
        return " ".join(words), intent

    @cached_property
    def _index(self) -> dict[str, int]:
        return {token: position for position, token in enumerate(self.tokens)}
