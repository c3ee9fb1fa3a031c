"""Turn features and labels (numpy arrays or torch tensors) into checked numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_numpy(value: Any, name: str) -> np.ndarray:
    """A numpy array, torch tensor or list as numpy, or a ``TypeError`` naming ``name``."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    elif isinstance(value, list | tuple):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array, a torch.Tensor or a list, got {type(value).__name__}"
        )
    return value


def feature_matrix(value: Any, name: str) -> np.ndarray:
    """A finite, non-empty (N, D) float64 array, or a ValueError/TypeError naming ``name``."""
    array = as_numpy(value, name)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (N, D), got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must be non-empty with shape (N, D), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array)):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got an array holding NaN or inf")
    return array


def label_vector(value: Any, name: str, length: int) -> np.ndarray:
    """A (length,) int64 array of class labels, or a ValueError/TypeError naming ``name``."""
    array = as_numpy(value, name)
    if array.ndim != 1 or array.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integer labels, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def score_vector(value: Any, name: str) -> np.ndarray:
    """A finite, non-empty 1-D float64 array, or a ValueError/TypeError naming ``name``."""
    array = as_numpy(value, name)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of shape (N,), got {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array)):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got an array holding NaN or inf")
    return array


def check_same_width(
    first: np.ndarray, second: np.ndarray, first_name: str, second_name: str
) -> None:
    """Raise ``ValueError`` unless the two (N, D) matrices have the same width D."""
    if first.shape[1] != second.shape[1]:
        raise ValueError(
            f"{second_name} must have the same width D={first.shape[1]} as {first_name}, "
            f"got shape {second.shape}"
        )


def check_c_grid(grid: Any, name: str = "grid") -> tuple[float, ...]:
    """Candidate values of scikit-learn's ``C`` as a tuple; at least one, each a number > 0."""
    candidates = tuple(grid)
    if not candidates or not all(
        isinstance(c, int | float) and not isinstance(c, bool) and c > 0 for c in candidates
    ):
        raise ValueError(f"{name} must hold at least one number > 0, got {candidates!r}")
    return candidates
