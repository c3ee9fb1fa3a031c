"""Shared fixtures of the evaluation tests: a hand-written grid search for the CV probes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ReferenceChoice = Callable[[np.ndarray, np.ndarray, Sequence[float], int, int], tuple[float, float]]


def _reference_choice(
    x: np.ndarray, y: np.ndarray, grid: Sequence[float], folds: int, seed: int
) -> tuple[float, float]:
    """Loop over C (ascending) and the folds by hand, with a scaler refitted per fold: the C with
    the best mean fold accuracy, the first (smallest) C winning ties."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    best_c, best_score = float("nan"), -1.0
    for c in sorted(grid):
        scores = []
        for fit_rows, held_rows in splitter.split(x, y):
            model = make_pipeline(
                StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed)
            )
            model.fit(x[fit_rows], y[fit_rows])
            scores.append(model.score(x[held_rows], y[held_rows]))
        if np.mean(scores) > best_score + 1e-12:
            best_c, best_score = c, float(np.mean(scores))
    return best_c, best_score


@pytest.fixture
def reference_choice() -> ReferenceChoice:
    """``reference_choice(x, y, grid, folds, seed) -> (best C, its mean fold accuracy)``."""
    return _reference_choice
