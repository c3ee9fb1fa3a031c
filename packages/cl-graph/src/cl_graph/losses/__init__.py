"""Losses specific to meta-path graph contrastive learning, built on ``cl_core.losses``."""

from cl_graph.losses.adameow import NegativeWeightNet, adaptive_weighted_info_nce
from cl_graph.losses.cross_view import cross_view_info_nce
from cl_graph.losses.meow import MEOWInfoNCELoss, cluster_negative_weights, meow_info_nce
from cl_graph.losses.proto_nce import proto_nce

__all__ = [
    "MEOWInfoNCELoss",
    "NegativeWeightNet",
    "adaptive_weighted_info_nce",
    "cluster_negative_weights",
    "cross_view_info_nce",
    "meow_info_nce",
    "proto_nce",
]
