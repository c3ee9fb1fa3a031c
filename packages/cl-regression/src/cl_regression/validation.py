"""Input checks for the public functions of this package.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong shape,
range or value) naming the argument, what was expected and what was received.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def check_embeddings(embeddings: object, name: str = "embeddings") -> None:
    """Raise unless ``embeddings`` is a finite, floating (N, D) tensor with N >= 2 and D >= 1."""
    if not isinstance(embeddings, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(embeddings).__name__}")
    if embeddings.dim() != 2 or embeddings.shape[0] < 2 or embeddings.shape[1] < 1:
        raise ValueError(
            f"{name} must have shape (N, D) with N >= 2 and D >= 1, got {tuple(embeddings.shape)}"
        )
    if not embeddings.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {embeddings.dtype}")
    if not bool(torch.isfinite(embeddings).all()):
        raise ValueError(f"{name} must be finite, got a tensor holding NaN or inf")


def check_targets(targets: object, length: int | None = None, name: str = "targets") -> None:
    """Raise unless ``targets`` is a finite, floating 1-D tensor (``length`` long if given)."""
    if not isinstance(targets, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(targets).__name__}")
    expected = "N" if length is None else str(length)
    if targets.dim() != 1 or targets.shape[0] != (targets.shape[0] if length is None else length):
        raise ValueError(f"{name} must have shape ({expected},), got {tuple(targets.shape)}")
    if not targets.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {targets.dtype}")
    if not bool(torch.isfinite(targets).all()):
        raise ValueError(f"{name} must be finite, got a tensor holding NaN or inf")


def check_bin_labels(bin_labels: object, length: int, name: str = "bin_labels") -> None:
    """Raise unless ``bin_labels`` is an integer (length,) tensor."""
    if not isinstance(bin_labels, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(bin_labels).__name__}")
    if bin_labels.dim() != 1 or bin_labels.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},), got {tuple(bin_labels.shape)}")
    if bin_labels.is_floating_point() or bin_labels.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {bin_labels.dtype}")


def check_positive(value: object, name: str) -> None:
    """Raise unless ``value`` is a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")


def check_count(value: object, name: str, minimum: int = 0) -> None:
    """Raise unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def check_choice(value: object, choices: tuple[str, ...], name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
