"""Train a reward head on cached pair features (plain torch loop: the head is a small MLP).

The objective is the Bradley-Terry loss (:func:`cl_rlhf.losses.bradley_terry_loss`) with optional
per-pair margins and soft labels, plus :math:`\\beta` times a contrastive auxiliary on two dropout
passes of the head's hidden layer when ``contrastive_weight > 0``: SimCSE
(:func:`cl_rlhf.losses.reward_contrast_loss`) or SwAV (:func:`cl_rlhf.losses.swav_loss`, with
learnable prototypes trained alongside the head).
Lightning is not used: a run is a few thousand steps of a 100k-parameter MLP on cached features,
where Lightning's start-up would cost more than the training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from cl_core.threads import torch_threads
from cl_rlhf.losses import SwAVLoss, bradley_terry_loss, reward_contrast_loss
from cl_rlhf.losses.reward_contrast import CONTRAST_VIEWS, ContrastViews, contrast_views
from cl_rlhf.reward_head import RewardHead

AuxiliaryLoss = Literal["simcse", "swav"]
AUXILIARY_LOSSES: tuple[str, ...] = ("simcse", "swav")


@dataclass(frozen=True)
class HeadTrainConfig:
    """Hyper-parameters of one reward-head run.

    Attributes:
        epochs: passes over the training pairs.
        batch_size: pairs per step.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        hidden_dim: width of the head's hidden layer.
        dropout: dropout on the hidden layer (also makes the SimCSE views).
        contrastive_weight: :math:`\\beta` of the contrastive auxiliary (0 disables it).
        contrastive_loss: ``"simcse"`` (InfoNCE) or ``"swav"`` (swapped prototype prediction).
        contrastive_views: ``"pairs"`` or ``"differences"``.
        temperature: InfoNCE temperature of the SimCSE auxiliary.
        num_prototypes: K of the SwAV auxiliary.
        swav_temperature: softmax temperature of the SwAV auxiliary.
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    hidden_dim: int = 256
    dropout: float = 0.1
    contrastive_weight: float = 0.0
    contrastive_loss: AuxiliaryLoss = "simcse"
    contrastive_views: ContrastViews = "pairs"
    temperature: float = 0.05
    num_prototypes: int = 16
    swav_temperature: float = 0.1

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "hidden_dim", "num_prototypes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "temperature", "swav_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.weight_decay < 0 or self.contrastive_weight < 0:
            raise ValueError(
                "weight_decay and contrastive_weight must be >= 0, got "
                f"{self.weight_decay} and {self.contrastive_weight}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.contrastive_loss not in AUXILIARY_LOSSES:
            raise ValueError(
                f"contrastive_loss must be one of {AUXILIARY_LOSSES}, got {self.contrastive_loss!r}"
            )
        if self.contrastive_views not in CONTRAST_VIEWS:
            raise ValueError(
                f"contrastive_views must be one of {CONTRAST_VIEWS}, got {self.contrastive_views!r}"
            )


def train_reward_head(
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig | None = None,
    *,
    margin: Tensor | None = None,
    label_smoothing: Tensor | None = None,
    seed: int = 0,
) -> RewardHead:
    """Fit a :class:`RewardHead` so that chosen features score above rejected ones.

    Args:
        chosen: features of the preferred responses, shape (N, D).
        rejected: features of the rejected responses, shape (N, D).
        config: hyper-parameters (default :class:`HeadTrainConfig`).
        margin: optional per-pair margins (N,) inside the sigmoid (constants).
        label_smoothing: optional per-pair soft-label weights (N,) in [0, 1].
        seed: seeds the initialisation, the pair order and dropout.

    Returns:
        The trained head, in eval mode.

    Example:
        >>> import torch
        >>> good, bad = torch.randn(32, 8) + 1, torch.randn(32, 8)
        >>> head = train_reward_head(good, bad, HeadTrainConfig(epochs=2, hidden_dim=16))
        >>> head(good).shape
        torch.Size([32])
    """
    if chosen.dim() != 2 or chosen.shape != rejected.shape or chosen.shape[0] < 1:
        raise ValueError(
            "chosen and rejected must be non-empty feature matrices of one shape (N, D), got "
            f"{tuple(chosen.shape)} and {tuple(rejected.shape)}"
        )
    config = config if config is not None else HeadTrainConfig()
    num_pairs = chosen.shape[0]
    for name, per_pair in (("margin", margin), ("label_smoothing", label_smoothing)):
        if per_pair is not None and tuple(per_pair.shape) != (num_pairs,):
            raise ValueError(f"{name} must have shape ({num_pairs},), got {tuple(per_pair.shape)}")
    generator = torch.Generator().manual_seed(seed)
    with torch_threads(1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = RewardHead(chosen.shape[1], config.hidden_dim, config.dropout)
        swav = None
        parameters = list(head.parameters())
        if config.contrastive_weight > 0 and config.contrastive_loss == "swav":
            swav = SwAVLoss(
                config.hidden_dim, config.num_prototypes, temperature=config.swav_temperature
            )
            parameters += list(swav.parameters())
        optimizer = torch.optim.AdamW(
            parameters, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        head.train()
        for _ in range(config.epochs):
            order = torch.randperm(num_pairs, generator=generator)
            for start in range(0, num_pairs, config.batch_size):
                rows = order[start : start + config.batch_size]
                loss = pair_loss(
                    head, swav, chosen[rows], rejected[rows], config, margin, label_smoothing, rows
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return head.eval()


def pair_loss(
    head: RewardHead,
    swav: SwAVLoss | None,
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig,
    margin: Tensor | None,
    label_smoothing: Tensor | None,
    rows: Tensor,
) -> Tensor:
    """Bradley-Terry loss of one batch plus the configured contrastive auxiliary.

    Shared by the frozen-feature loop above and :mod:`cl_rlhf.finetune` (where ``chosen`` and
    ``rejected`` are encoder outputs that carry gradients).

    Args:
        head: the reward head (in train mode for dropout views).
        swav: the SwAV auxiliary when ``config.contrastive_loss == "swav"``, else ``None``.
        chosen: features of the batch's preferred responses, shape (B, D).
        rejected: features of the batch's rejected responses, shape (B, D).
        config: head settings (``contrastive_weight``, views, temperatures).
        margin: per-pair margins over the whole training set (N,), or ``None``.
        label_smoothing: per-pair soft labels over the whole training set (N,), or ``None``.
        rows: indices (B,) of the batch's pairs in the training set.

    Returns:
        The scalar loss.
    """
    hidden_chosen = head.representation(chosen)
    hidden_rejected = head.representation(rejected)
    loss = bradley_terry_loss(
        head.score(hidden_chosen).squeeze(-1),
        head.score(hidden_rejected).squeeze(-1),
        margin=None if margin is None else margin[rows],
        label_smoothing=0.0 if label_smoothing is None else label_smoothing[rows],
    )
    if config.contrastive_weight > 0 and rows.numel() > 1:
        second_chosen = head.representation(chosen)
        second_rejected = head.representation(rejected)
        if swav is None:
            auxiliary = reward_contrast_loss(
                hidden_chosen,
                hidden_rejected,
                second_chosen,
                second_rejected,
                views=config.contrastive_views,
                temperature=config.temperature,
            )
        else:
            auxiliary = swav(
                *contrast_views(
                    hidden_chosen,
                    hidden_rejected,
                    second_chosen,
                    second_rejected,
                    views=config.contrastive_views,
                )
            )
        loss = loss + config.contrastive_weight * auxiliary
    return loss


@torch.no_grad()
def reward_margins(head: RewardHead, chosen: Tensor, rejected: Tensor) -> Tensor:
    """:math:`r(x, y_c) - r(x, y_r)` per pair, shape (N,), with the head in eval mode."""
    head.eval()
    return head(chosen) - head(rejected)
