"""Reward-model losses: Bradley-Terry (with smoothing and margin) and the contrastive auxiliary."""

from cl_rlhf.losses.bradley_terry import BradleyTerryLoss, bradley_terry_loss
from cl_rlhf.losses.reward_contrast import CONTRAST_VIEWS, reward_contrast_loss

__all__ = ["CONTRAST_VIEWS", "BradleyTerryLoss", "bradley_terry_loss", "reward_contrast_loss"]
