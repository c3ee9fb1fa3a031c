"""Preference-pair data: JSON Lines loaders, dialogue turns, splits, injected label flips."""

from cl_rlhf.data.dialogue import DialogueTurns, final_exchange
from cl_rlhf.data.pairs import (
    HH_HARMLESS_CARD,
    PairFileError,
    PreferencePairs,
    load_hh_harmless,
    load_preference_pairs,
)
from cl_rlhf.data.splits import PairSplit, flip_mask, split_pairs

__all__ = [
    "HH_HARMLESS_CARD",
    "DialogueTurns",
    "PairFileError",
    "PairSplit",
    "PreferencePairs",
    "final_exchange",
    "flip_mask",
    "load_hh_harmless",
    "load_preference_pairs",
    "split_pairs",
]
