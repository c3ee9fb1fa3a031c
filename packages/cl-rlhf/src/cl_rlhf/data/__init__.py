"""Preference-pair data: JSON Lines loaders, deterministic splits, injected label flips."""

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
    "PairFileError",
    "PairSplit",
    "PreferencePairs",
    "flip_mask",
    "load_hh_harmless",
    "load_preference_pairs",
    "split_pairs",
]
