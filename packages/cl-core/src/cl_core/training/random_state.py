"""Carry torch's global random stream across a sequence of fits instead of reseeding it per fit.

:func:`~cl_core.training.fit_objective` seeds every fit with ``engine.seed`` (Lightning's
``seed_everything``). A method that trains one model through a *sequence* of fits - continual
learning with one fit per task - draws its dropout masks from one stream that runs on from task to
task; reseeding at every task would replay the same masks on every task. :class:`KeepRandomState`
snapshots torch's CPU (and CUDA) generator states when it is built, just before the fit, and
restores them when training starts, so the fit continues the caller's stream.

Example:
    >>> _ = torch.manual_seed(0)
    >>> keep = KeepRandomState()
    >>> expected = torch.rand(1)
    >>> _ = torch.manual_seed(123)  # what seed_everything does inside the fit
    >>> keep.on_train_start(None, None)
    >>> bool(torch.rand(1) == expected)
    True
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.callbacks import Callback


class KeepRandomState(Callback):
    """Restore, at the start of training, torch's generator states taken at construction."""

    def __init__(self) -> None:
        self.cpu_state = torch.get_rng_state()
        self.cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        torch.set_rng_state(self.cpu_state)
        if self.cuda_states is not None:
            torch.cuda.set_rng_state_all(self.cuda_states)
