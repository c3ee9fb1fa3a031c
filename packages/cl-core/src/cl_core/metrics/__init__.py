"""Embedding-quality metrics: alignment, uniformity, tolerance, singular spectrum, effective rank.

Each metric is a function (the math) plus a small stateful module with ``update`` / ``compute`` /
``reset`` that accumulates batches and calls that function.
"""

from cl_core.metrics.alignment import Alignment, alignment
from cl_core.metrics.spectrum import EffectiveRank, effective_rank, singular_spectrum
from cl_core.metrics.tolerance import Tolerance, tolerance
from cl_core.metrics.uniformity import Uniformity, uniformity

__all__ = [
    "Alignment",
    "EffectiveRank",
    "Tolerance",
    "Uniformity",
    "alignment",
    "effective_rank",
    "singular_spectrum",
    "tolerance",
    "uniformity",
]
