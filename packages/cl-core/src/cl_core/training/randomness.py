"""Per-step random generators that replay identically after a resume.

A view augmentation that draws from a generator seeded by ``(seed, global_step, rank)`` produces the
same crops in a run resumed from a checkpoint as in an unbroken run, with no RNG state to save.
:class:`~cl_core.training.ContrastiveModule` seeds its views this way; hand-written Lightning
modules use :func:`step_generator` directly.
"""

from __future__ import annotations

import numpy as np
import torch


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A CPU generator seeded from ``(seed, step, rank)`` via :class:`numpy.random.SeedSequence`.

    Args:
        seed: the run's seed (>= 0).
        step: the optimizer step, e.g. ``LightningModule.global_step`` (>= 0).
        rank: the process rank under data parallelism (>= 0), so ranks draw different views.

    Returns:
        A fresh ``torch.Generator``; equal arguments give generators that draw equal numbers.

    Example:
        >>> a = torch.rand(2, generator=step_generator(0, 5))
        >>> torch.equal(a, torch.rand(2, generator=step_generator(0, 5)))
        True
    """
    for name, value in (("seed", seed), ("step", step), ("rank", rank)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    words = np.random.SeedSequence([int(seed), int(step), int(rank)])
    return torch.Generator().manual_seed(int(words.generate_state(1, dtype=np.uint64)[0] >> 1))
