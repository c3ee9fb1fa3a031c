"""A class-balanced, fixed-size experience-replay buffer.

Experience replay (rehearsal) keeps a few past samples and mixes them into later tasks' batches
(Chaudhry et al., "On Tiny Episodic Memories in Continual Learning", 2019, arXiv:1902.10486). This
buffer holds dataset indices and splits its capacity equally between the classes seen so far:
with C classes each keeps ``capacity // C`` samples (the first ``capacity % C`` classes one more);
when new classes arrive, old classes drop their surplus, chosen at random once on insertion.

Example:
    >>> buffer = ClassBalancedBuffer(capacity=4, seed=0)
    >>> buffer.add([0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 1, 1])
    >>> sorted(buffer.class_counts().values())
    [2, 2]
    >>> buffer.add([6, 7], [2, 2])
    >>> sorted(buffer.class_counts().values())
    [1, 1, 2]
"""

from __future__ import annotations

import random
from collections.abc import Sequence


class ClassBalancedBuffer:
    """Fixed-capacity memory of dataset indices, split equally over the classes seen.

    Args:
        capacity: the most indices held, >= 1.
        seed: chooses which samples of a class are kept.
    """

    def __init__(self, capacity: int, seed: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._rng = random.Random(seed)
        self._by_class: dict[int, list[int]] = {}

    def add(self, indices: Sequence[int], labels: Sequence[int]) -> None:
        """Offer the samples of a finished task; then rebalance to the capacity.

        Raises:
            ValueError: ``indices`` and ``labels`` differ in length.
        """
        if len(indices) != len(labels):
            raise ValueError(
                f"indices and labels must have the same length, got {len(indices)} and "
                f"{len(labels)}"
            )
        offered: dict[int, list[int]] = {}
        for index, label in zip(indices, labels, strict=True):
            offered.setdefault(int(label), []).append(int(index))
        for label, members in offered.items():
            self._rng.shuffle(members)
            self._by_class.setdefault(label, []).extend(members)
        classes = sorted(self._by_class)
        quota, extra = divmod(self.capacity, len(classes))
        for rank, label in enumerate(classes):
            del self._by_class[label][quota + (rank < extra) :]

    def indices(self) -> list[int]:
        """Every stored index, grouped by class."""
        return [index for label in sorted(self._by_class) for index in self._by_class[label]]

    def class_counts(self) -> dict[int, int]:
        """Stored samples per class."""
        return {label: len(members) for label, members in sorted(self._by_class.items())}

    def __len__(self) -> int:
        return sum(len(members) for members in self._by_class.values())
