"""Contrastive regression losses: SupReMix and the Rank-N-Contrast baseline."""

from cl_regression.losses.mixtures import MixturePlan, sample_mixture_plan
from cl_regression.losses.rank_n_contrast import RankNContrastLoss, rank_n_contrast_loss
from cl_regression.losses.supremix import SupReMixLoss, supremix_loss

__all__ = [
    "MixturePlan",
    "RankNContrastLoss",
    "SupReMixLoss",
    "rank_n_contrast_loss",
    "sample_mixture_plan",
    "supremix_loss",
]
