"""Plot of intent accuracy on the seen tasks after every task, one line per method.

Example:
    >>> curves = {"replay": [0.9, 0.6], "coconut": [0.9, 0.7]}
    >>> plot_seen_accuracy(curves, "acc.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cl_core.io import atomic_path


def plot_seen_accuracy(
    curves: Mapping[str, Sequence[float]], path: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """Draw accuracy-after-each-task curves into ``path`` (PNG, written atomically).

    Args:
        curves: method name -> accuracy on all seen tasks after task 1, 2, ...
        path: output file.
        title: figure title.

    Raises:
        ValueError: no curves, or an empty curve.
    """
    if not curves or any(len(values) == 0 for values in curves.values()):
        raise ValueError("curves must map at least one method to a non-empty list of accuracies")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.5, 3.8))
    for method, values in curves.items():
        axes.plot(range(1, len(values) + 1), [100 * v for v in values], marker="o", label=method)
    axes.set_xlabel("tasks learned")
    axes.set_ylabel("intent accuracy on seen tasks (%)")
    axes.set_ylim(0, 100)
    axes.set_xticks(range(1, max(len(v) for v in curves.values()) + 1))
    axes.grid(alpha=0.3)
    axes.legend()
    if title:
        axes.set_title(title)
    figure.tight_layout()
    target = Path(path)
    with atomic_path(target) as temp:
        figure.savefig(temp, dpi=120)
    plt.close(figure)
    return target
