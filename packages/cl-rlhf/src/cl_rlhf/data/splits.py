"""Deterministic train/val/test splits and injected label flips with a known fraction.

Injected flips simulate annotator noise: a flipped pair swaps its chosen and rejected text, so a
reward model trained on it learns the wrong preference. Because the flipped set is known, one can
measure how much test accuracy the noise costs and how much a noise-aware method recovers
(Wang et al., "Secrets of RLHF in Large Language Models Part II: Reward Modeling", 2024,
arXiv:2401.06080).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairSplit:
    """Row indices of the train, validation and test parts (disjoint, together all rows)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_pairs(
    num_pairs: int, *, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0
) -> PairSplit:
    """Shuffle ``range(num_pairs)`` with ``seed`` and cut it into train/val/test.

    The same arguments always give the same split. Each part is sorted.

    Args:
        num_pairs: number of pairs, at least 3.
        val_fraction: share of validation pairs, in [0, 1).
        test_fraction: share of test pairs, in (0, 1); with ``val_fraction`` below 1.
        seed: seed of the permutation.

    Returns:
        The index arrays; validation and test get ``round(fraction * num_pairs)`` rows (test at
        least one), train the rest (at least one).

    Example:
        >>> split = split_pairs(10, val_fraction=0.2, test_fraction=0.2)
        >>> len(split.train), len(split.val), len(split.test)
        (6, 2, 2)
    """
    if num_pairs < 3:
        raise ValueError(f"num_pairs must be >= 3, got {num_pairs}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if not 0.0 < test_fraction < 1.0 or val_fraction + test_fraction >= 1.0:
        raise ValueError(
            "test_fraction must be in (0, 1) with val_fraction + test_fraction < 1, got "
            f"test_fraction={test_fraction}, val_fraction={val_fraction}"
        )
    order = np.random.default_rng(seed).permutation(num_pairs)
    num_test = max(1, round(test_fraction * num_pairs))
    num_val = round(val_fraction * num_pairs)
    if num_test + num_val >= num_pairs:
        raise ValueError(
            f"num_pairs={num_pairs} is too small for val_fraction={val_fraction} and "
            f"test_fraction={test_fraction}: no training pair would be left"
        )
    return PairSplit(
        train=np.sort(order[num_test + num_val :]),
        val=np.sort(order[num_test : num_test + num_val]),
        test=np.sort(order[:num_test]),
    )


def flip_mask(num_pairs: int, fraction: float, *, seed: int = 0) -> np.ndarray:
    """A boolean mask with exactly ``round(fraction * num_pairs)`` True entries at random rows.

    Args:
        num_pairs: number of pairs, >= 1.
        fraction: share of pairs to flip, in [0, 1].
        seed: seed of the choice of rows.

    Returns:
        Boolean array of shape (num_pairs,); True marks a pair whose labels are to be swapped.

    Example:
        >>> int(flip_mask(10, 0.3).sum())
        3
    """
    if num_pairs < 1:
        raise ValueError(f"num_pairs must be >= 1, got {num_pairs}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    mask = np.zeros(num_pairs, dtype=bool)
    chosen_rows = np.random.default_rng(seed).choice(
        num_pairs, size=round(fraction * num_pairs), replace=False
    )
    mask[chosen_rows] = True
    return mask
