"""Train/test splits for the regimes of the SupReMix paper: standard, imbalanced and few-shot.

The transfer regime uses the standard split; what changes there is the pre-training target (see
:func:`cl_regression.experiment.run_experiment`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Regime = Literal["standard", "imbalanced", "few_shot", "transfer"]
REGIMES: tuple[str, ...] = ("standard", "imbalanced", "few_shot", "transfer")


@dataclass(frozen=True)
class RegimeSplit:
    """Row indices of the training and test sets of one regime."""

    regime: str
    train_index: np.ndarray
    test_index: np.ndarray


def make_regime_split(
    targets: np.ndarray,
    regime: Regime,
    *,
    seed: int,
    test_fraction: float = 0.2,
    max_train: int | None = None,
    max_test: int | None = None,
    imbalance_ratio: float = 50.0,
    few_shot_size: int = 100,
) -> RegimeSplit:
    r"""Split rows into a training and a held-out test set for ``regime``.

    * ``"standard"`` / ``"transfer"``: a random split.
    * ``"imbalanced"``: the training rows are subsampled so that the keep probability falls
      exponentially with the target's rank, :math:`p = \rho^{-r}` with rank :math:`r \in [0, 1]`
      and ratio :math:`\rho` = ``imbalance_ratio``; the highest targets are kept :math:`\rho` times
      less often than the lowest (the long-tailed training sets of Yang et al., "Delving into Deep
      Imbalanced Regression", 2021, arXiv:2102.09554). The test set keeps its natural distribution.
    * ``"few_shot"``: ``few_shot_size`` random training rows.

    Args:
        targets: (N,) regression targets.
        regime: one of ``"standard"``, ``"imbalanced"``, ``"few_shot"``, ``"transfer"``.
        seed: random seed of the split.
        test_fraction: share of rows held out for testing, in (0, 1).
        max_train: optional cap on training rows (applied last, at random).
        max_test: optional cap on test rows.
        imbalance_ratio: :math:`\rho \ge 1` for ``"imbalanced"``.
        few_shot_size: number of training rows for ``"few_shot"``.

    Returns:
        A :class:`RegimeSplit` with disjoint index arrays.

    Example:
        >>> split = make_regime_split(np.arange(100.0), "few_shot", seed=0, few_shot_size=10)
        >>> len(split.train_index), len(split.test_index)
        (10, 20)
    """
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if imbalance_ratio < 1:
        raise ValueError(f"imbalance_ratio must be >= 1, got {imbalance_ratio}")
    targets = np.asarray(targets, dtype=np.float64)
    if targets.ndim != 1 or len(targets) < 4:
        raise ValueError(f"targets must be 1-D with >= 4 rows, got shape {targets.shape}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(targets))
    num_test = max(1, math.ceil(test_fraction * len(targets)))
    test_index, train_index = order[:num_test], order[num_test:]
    if regime == "imbalanced":
        ranks = _rank_fraction(targets[train_index])
        keep = rng.random(len(train_index)) < imbalance_ratio ** (-ranks)
        train_index = train_index[keep]
    elif regime == "few_shot":
        if not 2 <= few_shot_size <= len(train_index):
            raise ValueError(
                f"few_shot_size must lie in [2, {len(train_index)}], got {few_shot_size}"
            )
        train_index = train_index[:few_shot_size]
    if max_train is not None and len(train_index) > max_train:
        train_index = rng.choice(train_index, size=max_train, replace=False)
    if max_test is not None and len(test_index) > max_test:
        test_index = rng.choice(test_index, size=max_test, replace=False)
    return RegimeSplit(regime=regime, train_index=train_index, test_index=test_index)


def _rank_fraction(values: np.ndarray) -> np.ndarray:
    """Average rank of each value scaled to [0, 1] (ties share a rank)."""
    from scipy.stats import rankdata

    if len(values) < 2:
        return np.zeros(len(values))
    return (rankdata(values) - 1) / (len(values) - 1)
