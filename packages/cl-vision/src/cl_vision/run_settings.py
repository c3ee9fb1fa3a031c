"""Checks the settings dataclasses of the vision recipes share (method names, step counts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def check_method(method: str, methods: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``method`` is one of ``methods``.

    Example:
        >>> check_method("pixpro", ("pixpro", "simclr"))
    """
    if method not in methods:
        raise ValueError(f"method must be one of {tuple(methods)}, got {method!r}")


def check_counts(settings: Any, names: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the first attribute of ``names`` on ``settings`` below 1.

    Example:
        >>> from types import SimpleNamespace
        >>> check_counts(SimpleNamespace(epochs=2, batch_size=8), ("epochs", "batch_size"))
    """
    for name in names:
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(settings, name)}")
