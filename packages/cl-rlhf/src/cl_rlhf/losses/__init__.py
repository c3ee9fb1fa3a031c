"""Reward-model losses: Bradley-Terry, SimCSE / SwAV auxiliaries, SIRL similarity queries."""

from cl_rlhf.losses.bradley_terry import BradleyTerryLoss, bradley_terry_loss
from cl_rlhf.losses.reward_contrast import CONTRAST_VIEWS, reward_contrast_loss
from cl_rlhf.losses.similarity_query import (
    TRIPLET_PAIRS,
    SimilarityQueryLoss,
    similarity_query_loss,
)
from cl_rlhf.losses.swav import (
    SwAVLoss,
    sinkhorn_knopp,
    swapped_prediction_loss,
    swav_loss,
)

__all__ = [
    "CONTRAST_VIEWS",
    "TRIPLET_PAIRS",
    "BradleyTerryLoss",
    "SimilarityQueryLoss",
    "SwAVLoss",
    "bradley_terry_loss",
    "reward_contrast_loss",
    "similarity_query_loss",
    "sinkhorn_knopp",
    "swapped_prediction_loss",
    "swav_loss",
]
