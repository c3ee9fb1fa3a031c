"""Losses compute their logits in float32 even inside a mixed-precision (autocast) region.

Under ``torch.autocast`` (Lightning's ``bf16-mixed`` / ``16-mixed``) a matrix product of float32
tensors runs in the low precision, so a loss that upcasts its inputs would still form bf16 logits.
The kernel's losses promise logits and ``logsumexp`` in at least float32; :func:`full_precision`
turns autocast off around their computation (inputs are upcast by the losses themselves).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import torch

P = ParamSpec("P")
R = TypeVar("R")


def full_precision(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with CPU and CUDA autocast disabled."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        active = [device for device in ("cpu", "cuda") if torch.is_autocast_enabled(device)]
        if not active:
            return function(*args, **kwargs)
        with contextlib.ExitStack() as stack:
            for device in active:
                stack.enter_context(torch.autocast(device, enabled=False))
            return function(*args, **kwargs)

    return wrapper
