"""Chosen/rejected feature matrices of preference pairs, from one of two text views.

- ``"response"`` (default): the final assistant response only
  (:func:`cl_rlhf.data.dialogue.final_exchange`), the part in which chosen and rejected differ.
  On the real HH-RLHF harmless-base pairs a Bradley-Terry head on these frozen MiniLM features
  reaches about 0.61 clean test accuracy, against 0.54 for whole-dialogue features (the shared
  history dominates those; see the package README for the exact runs).
- ``"dialogue"``: the whole dialogue, truncated from the left.

Both are cached per text by :func:`cl_rlhf.encoding.cached_text_features`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from cl_rlhf.data.dialogue import final_exchange
from cl_rlhf.data.pairs import PreferencePairs
from cl_rlhf.encoding import DEFAULT_MAX_LENGTH, cached_text_features

if TYPE_CHECKING:
    from torch import Tensor

TextView = Literal["response", "dialogue"]
TEXT_VIEWS: tuple[str, ...] = ("response", "dialogue")
RESPONSE_MAX_LENGTH = 96


def default_max_length(view: TextView) -> int:
    """Tokens kept per text by default: 96 for responses, 128 for dialogues."""
    if view not in TEXT_VIEWS:
        raise ValueError(f"view must be one of {TEXT_VIEWS}, got {view!r}")
    return RESPONSE_MAX_LENGTH if view == "response" else DEFAULT_MAX_LENGTH


def pair_texts(pairs: PreferencePairs, view: TextView = "response") -> tuple[list[str], list[str]]:
    """The chosen and rejected texts that ``view`` encodes.

    Example:
        >>> pairs = PreferencePairs(("\\n\\nHuman: hi\\n\\nAssistant: hello",),
        ...                         ("\\n\\nHuman: hi\\n\\nAssistant: go away",))
        >>> pair_texts(pairs)
        (['hello'], ['go away'])
    """
    if view not in TEXT_VIEWS:
        raise ValueError(f"view must be one of {TEXT_VIEWS}, got {view!r}")
    if view == "dialogue":
        return list(pairs.chosen), list(pairs.rejected)
    return (
        [final_exchange(text).response or text for text in pairs.chosen],
        [final_exchange(text).response or text for text in pairs.rejected],
    )


def pair_features(
    pairs: PreferencePairs,
    cache_dir: str | os.PathLike[str],
    *,
    view: TextView = "response",
    model_path: str | os.PathLike[str] | None = None,
    max_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Frozen-encoder features of the chosen and of the rejected texts.

    Args:
        pairs: the preference pairs.
        cache_dir: folder of the feature cache.
        view: ``"response"`` or ``"dialogue"`` (module docstring).
        model_path: a local Hugging Face encoder folder; default the packaged MiniLM.
        max_length: tokens kept per text; default 96 for responses, 128 for dialogues.

    Returns:
        ``(chosen, rejected)``, each of shape (len(pairs), hidden_size).
    """
    chosen, rejected = pair_texts(pairs, view)
    if max_length is None:
        max_length = default_max_length(view)
    features = cached_text_features(
        chosen + rejected, cache_dir, model_path=model_path, max_length=max_length
    )
    return features[: len(pairs)], features[len(pairs) :]
