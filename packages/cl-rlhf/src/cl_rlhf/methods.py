"""The compared reward-model recipes, by name.

Wang et al., "Secrets of RLHF in Large Language Models Part II: Reward Modeling", 2024,
arXiv:2401.06080:

========== ==================================================================================
``bt``     Bradley-Terry baseline, :math:`-\\log\\sigma(r_c - r_r)`.
``flip``   Swap chosen and rejected of pairs with ensemble strength :math:`\\hat\\mu_i < 0`.
``smooth`` Soft labels for pairs with :math:`\\hat\\mu_i < 0`: label smoothing
           :math:`\\alpha_i = \\sigma(-\\hat\\mu_i)`, the ensemble's probability that the rejected
           response is better (the paper's SoftLabel variant); other pairs keep :math:`\\alpha = 0`.
``margin`` Adaptive margin inside the sigmoid, :math:`-\\log\\sigma(r_c - r_r - \\hat\\mu_i)`.
``contrastive`` BT plus :math:`\\beta` times the SimCSE auxiliary on the head's hidden layer
           (dropout views; frozen backbone).
========== ==================================================================================

``flip``, ``smooth`` and ``margin`` first fit an ensemble of M heads on the same (possibly noisy)
training pairs to measure :math:`\\hat\\mu` (:mod:`cl_rlhf.strength`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from cl_rlhf.reward_head import RewardHead
from cl_rlhf.strength import (
    PreferenceStrength,
    ensemble_margins,
    fit_reward_ensemble,
    preference_strength,
)
from cl_rlhf.training import HeadTrainConfig, train_reward_head

METHODS: tuple[str, ...] = ("bt", "flip", "smooth", "margin", "contrastive")
STRENGTH_METHODS: tuple[str, ...] = ("flip", "smooth", "margin")
DEFAULT_CONTRASTIVE_WEIGHT = 0.1


@dataclass
class MethodFit:
    """A trained head and, for strength-aware methods, the strength it used.

    Attributes:
        method: the recipe name.
        head: the trained reward head (eval mode).
        strength: ensemble preference strength on the training pairs, or ``None``.
    """

    method: str
    head: RewardHead
    strength: PreferenceStrength | None = None


def fit_method(
    method: str,
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig | None = None,
    *,
    ensemble_size: int = 10,
    contrastive_weight: float = DEFAULT_CONTRASTIVE_WEIGHT,
    strength: PreferenceStrength | None = None,
    seed: int = 0,
) -> MethodFit:
    """Train one recipe of :data:`METHODS` on training-pair features.

    Args:
        method: one of :data:`METHODS`.
        chosen: features of the (possibly noisy) preferred responses, shape (N, D).
        rejected: features of the rejected responses, shape (N, D).
        config: head hyper-parameters (default :class:`HeadTrainConfig`).
        ensemble_size: M for the strength-aware methods (the paper uses 10).
        contrastive_weight: :math:`\\beta` for ``contrastive``.
        strength: a strength estimate to reuse (skips fitting the ensemble; several methods
            compared on the same data can share one).
        seed: seed of the final head (the ensemble uses ``seed + 1000 + m``).

    Returns:
        The :class:`MethodFit`.

    Example:
        >>> import torch
        >>> good, bad = torch.randn(40, 8) + 1, torch.randn(40, 8)
        >>> fit = fit_method("flip", good, bad, HeadTrainConfig(epochs=2), ensemble_size=2)
        >>> fit.strength.mean.shape
        torch.Size([40])
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    config = config if config is not None else HeadTrainConfig()
    if method == "bt":
        return MethodFit(method, train_reward_head(chosen, rejected, config, seed=seed))
    if method == "contrastive":
        if not contrastive_weight > 0:
            raise ValueError(f"contrastive_weight must be > 0, got {contrastive_weight}")
        aux_config = replace(config, contrastive_weight=contrastive_weight)
        return MethodFit(method, train_reward_head(chosen, rejected, aux_config, seed=seed))
    if strength is None:
        strength = estimate_strength(chosen, rejected, config, ensemble_size, seed=seed + 1000)
    if tuple(strength.mean.shape) != (chosen.shape[0],):
        raise ValueError(
            f"strength must cover the {chosen.shape[0]} training pairs, got shape "
            f"{tuple(strength.mean.shape)}"
        )
    if method == "flip":
        swap = strength.suspect.unsqueeze(1)
        head = train_reward_head(
            torch.where(swap, rejected, chosen),
            torch.where(swap, chosen, rejected),
            config,
            seed=seed,
        )
    elif method == "smooth":
        soft = torch.where(strength.suspect, torch.sigmoid(-strength.mean), 0.0)
        head = train_reward_head(chosen, rejected, config, label_smoothing=soft, seed=seed)
    else:
        head = train_reward_head(chosen, rejected, config, margin=strength.mean, seed=seed)
    return MethodFit(method, head, strength)


def estimate_strength(
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig | None = None,
    ensemble_size: int = 10,
    *,
    seed: int = 0,
) -> PreferenceStrength:
    """Fit an ensemble of ``ensemble_size`` heads and return the strength of every pair."""
    heads = fit_reward_ensemble(chosen, rejected, ensemble_size, config, seed=seed)
    return preference_strength(ensemble_margins(heads, chosen, rejected))
