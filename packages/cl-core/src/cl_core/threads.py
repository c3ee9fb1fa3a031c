"""Run a block of PyTorch code on a set number of intra-op CPU threads.

Small models (MLP heads, 8x8 image encoders, tabular encoders) do less work per operation than it
costs to hand it to a second thread: on the 2-core development machine one thread was as fast
uncontended and many times faster when the machine was busy (~30x per operation measured for the
regression encoder). Benchmarks and trainers of such models wrap their loops in
:func:`torch_threads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, then restore the previous setting.

    Args:
        count: number of intra-op threads, >= 1.

    Example:
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"count must be an int >= 1, got {count!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """:func:`torch_threads` plus the same limit on the BLAS and OpenMP pools of NumPy, SciPy and
    scikit-learn (through ``threadpoolctl``, a scikit-learn dependency), restored on exit.

    The linear probes' L-BFGS fits spend their time in small BLAS calls; with two BLAS threads on
    a busy 2-core machine the waiting threads spin, and the CV probe of one digits row took 20.8
    CPU seconds instead of 0.72 with one thread (same scores). Benchmark rows of small models run
    under ``cpu_threads(1)``.

    Args:
        count: threads of every pool, >= 1.
    """
    from threadpoolctl import threadpool_limits

    with torch_threads(count), threadpool_limits(limits=count):
        yield
