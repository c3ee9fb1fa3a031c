"""Losses specific to meta-path graph contrastive learning, built on ``cl_core.losses``.

MEOW's prototypical term is the kernel's :func:`cl_core.losses.proto_nce`.
"""

from cl_graph.losses.adameow import NegativeWeightNet, adaptive_weighted_info_nce
from cl_graph.losses.cross_view import cross_view_info_nce
from cl_graph.losses.meow import MEOWInfoNCELoss, meow_info_nce

__all__ = [
    "MEOWInfoNCELoss",
    "NegativeWeightNet",
    "adaptive_weighted_info_nce",
    "cross_view_info_nce",
    "meow_info_nce",
]
