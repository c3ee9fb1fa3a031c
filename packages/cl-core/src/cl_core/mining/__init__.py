"""Negative mining and pair sampling for contrastive losses.

Hard and semi-hard negative masks, FIFO feature queues with NNCLR nearest-neighbour lookup,
false-negative masks and MEOW cluster-agreement weights, MCL's cluster-conditioned batch sampler
and DebCSE-style inverse-propensity pair weights.
"""

from cl_core.mining.cluster_sampler import ClusterBatchSampler, multistage_pseudo_labels
from cl_core.mining.false_negatives import (
    cluster_agreement_weights,
    kmeans_assignments,
    mask_to_log_weights,
    same_label_mask,
)
from cl_core.mining.hard_negatives import hardest_negative_mask, semi_hard_negative_mask
from cl_core.mining.propensity import (
    inverse_propensity_sampler,
    inverse_propensity_weights,
    pair_bins,
    selection_propensity,
)
from cl_core.mining.queue import FeatureQueue, NearestNeighbourSupport, nearest_neighbours

__all__ = [
    "ClusterBatchSampler",
    "FeatureQueue",
    "NearestNeighbourSupport",
    "cluster_agreement_weights",
    "hardest_negative_mask",
    "inverse_propensity_sampler",
    "inverse_propensity_weights",
    "kmeans_assignments",
    "mask_to_log_weights",
    "multistage_pseudo_labels",
    "nearest_neighbours",
    "pair_bins",
    "same_label_mask",
    "selection_propensity",
    "semi_hard_negative_mask",
]
