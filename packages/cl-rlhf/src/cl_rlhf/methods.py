"""The compared reward-model recipes, by name.

Wang et al., "Secrets of RLHF in Large Language Models Part II: Reward Modeling", 2024,
arXiv:2401.06080:

========== ==================================================================================
``bt``     Bradley-Terry baseline, :math:`-\\log\\sigma(r_c - r_r)`.
``flip``   Swap chosen and rejected of the suspect pairs: ensemble strength
           :math:`\\hat\\mu_i < 0`, or the weakest ``weakest_fraction`` of the pairs (the
           paper flips the bottom 20%).
``smooth`` Soft labels for the suspect pairs: label smoothing
           :math:`\\alpha_i = \\sigma(-\\hat\\mu_i)`, the ensemble's probability that the rejected
           response is better (the paper's SoftLabel variant); other pairs keep :math:`\\alpha = 0`.
``margin`` Adaptive margin inside the sigmoid, :math:`-\\log\\sigma(r_c - r_r - \\hat\\mu_i)`.
``contrastive`` BT plus :math:`\\beta` times the SimCSE auxiliary on the head's hidden layer
           (dropout views; frozen backbone).
``swav``   BT plus :math:`\\beta` times the SwAV auxiliary (Caron et al. 2020, arXiv:2006.09882)
           on the same two dropout views, with learnable prototypes.
========== ==================================================================================

``flip``, ``smooth`` and ``margin`` first measure :math:`\\hat\\mu` with an ensemble of M heads
(:mod:`cl_rlhf.strength`): by default out of fold (every pair scored by members that did not
train on it, two folds per member, as the paper trains on split halves); with
``strength_folds=None`` in sample (all members train on all pairs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from cl_core.engine_options import EngineOptions
from cl_rlhf.reward_head import RewardHead
from cl_rlhf.strength import (
    PreferenceStrength,
    ensemble_margins,
    fit_reward_ensemble,
    out_of_fold_margins,
    preference_strength,
)
from cl_rlhf.training import HEAD_ENGINE, HeadTrainConfig, train_reward_head

METHODS: tuple[str, ...] = ("bt", "flip", "smooth", "margin", "contrastive", "swav")
AUXILIARY_METHODS: tuple[str, ...] = ("contrastive", "swav")
STRENGTH_METHODS: tuple[str, ...] = ("flip", "smooth", "margin")
DEFAULT_CONTRASTIVE_WEIGHT = 0.1
DEFAULT_STRENGTH_FOLDS = 2


@dataclass
class MethodFit:
    """A trained head and, for strength-aware methods, the strength it used.

    Attributes:
        method: the recipe name.
        head: the trained reward head (eval mode).
        strength: ensemble preference strength on the training pairs, or ``None``.
        suspects: boolean (N,) mask of the pairs treated as mislabelled, or ``None``.
    """

    method: str
    head: RewardHead
    strength: PreferenceStrength | None = None
    suspects: Tensor | None = None


def fit_method(
    method: str,
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig | None = None,
    *,
    ensemble_size: int = 10,
    contrastive_weight: float = DEFAULT_CONTRASTIVE_WEIGHT,
    strength: PreferenceStrength | None = None,
    strength_config: HeadTrainConfig | None = None,
    strength_folds: int | None = DEFAULT_STRENGTH_FOLDS,
    weakest_fraction: float | None = None,
    seed: int = 0,
    engine: EngineOptions = HEAD_ENGINE,
) -> MethodFit:
    """Train one recipe of :data:`METHODS` on training-pair features.

    Args:
        method: one of :data:`METHODS`.
        chosen: features of the (possibly noisy) preferred responses, shape (N, D).
        rejected: features of the rejected responses, shape (N, D).
        config: head hyper-parameters (default :class:`HeadTrainConfig`).
        ensemble_size: M for the strength-aware methods (the paper uses 10).
        contrastive_weight: :math:`\\beta` for ``contrastive`` and ``swav``.
        strength: a strength estimate to reuse (skips fitting the ensemble; several methods
            compared on the same data can share one).
        strength_config: hyper-parameters of the ensemble members (default: ``config``).
        strength_folds: folds of the out-of-fold strength estimate; ``None`` for in-sample.
        weakest_fraction: ``flip``/``smooth`` treat this share of the weakest pairs as
            mislabelled; ``None`` treats the pairs with :math:`\\hat\\mu < 0`.
        seed: seed of the final head (the ensemble uses ``seed + 1000 + m``).
        engine: accelerator, precision, processes of every head (default: one CPU process).

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
        return MethodFit(
            method, train_reward_head(chosen, rejected, config, seed=seed, engine=engine)
        )
    if method in AUXILIARY_METHODS:
        if not contrastive_weight > 0:
            raise ValueError(f"contrastive_weight must be > 0, got {contrastive_weight}")
        aux_config = replace(
            config,
            contrastive_weight=contrastive_weight,
            contrastive_loss="simcse" if method == "contrastive" else "swav",
        )
        return MethodFit(
            method, train_reward_head(chosen, rejected, aux_config, seed=seed, engine=engine)
        )
    if strength is None:
        strength = estimate_strength(
            chosen,
            rejected,
            strength_config if strength_config is not None else config,
            ensemble_size,
            num_folds=strength_folds,
            seed=seed + 1000,
            engine=engine,
        )
    if tuple(strength.mean.shape) != (chosen.shape[0],):
        raise ValueError(
            f"strength must cover the {chosen.shape[0]} training pairs, got shape "
            f"{tuple(strength.mean.shape)}"
        )
    adjust = strength_adjustments(method, strength, weakest_fraction)
    if method == "flip":
        swap = adjust.suspects.unsqueeze(1)
        chosen, rejected = torch.where(swap, rejected, chosen), torch.where(swap, chosen, rejected)
    head = train_reward_head(
        chosen,
        rejected,
        config,
        margin=adjust.margin,
        label_smoothing=adjust.label_smoothing,
        seed=seed,
        engine=engine,
    )
    suspects = adjust.suspects
    return MethodFit(method, head, strength, suspects)


@dataclass
class PairAdjustments:
    """What a strength-aware recipe changes about the training pairs.

    Attributes:
        suspects: boolean (N,) mask of the pairs treated as mislabelled.
        label_smoothing: per-pair soft labels (N,) for ``smooth``, else ``None``.
        margin: per-pair margins (N,) for ``margin``, else ``None``.

    ``flip`` swaps chosen and rejected of the ``suspects``.
    """

    suspects: Tensor
    label_smoothing: Tensor | None = None
    margin: Tensor | None = None


def strength_adjustments(
    method: str, strength: PreferenceStrength, weakest_fraction: float | None = None
) -> PairAdjustments:
    """The flips, soft labels or margins of ``flip`` / ``smooth`` / ``margin`` (module table).

    Used by :func:`fit_method` and by the fine-tuned backbone (:mod:`cl_rlhf.finetune`), which
    measures the strength on frozen features and applies it while training the encoder.

    Example:
        >>> import torch
        >>> from cl_rlhf.strength import preference_strength
        >>> strength = preference_strength(torch.tensor([[1.0, -2.0], [3.0, -1.0]]))
        >>> strength_adjustments("flip", strength).suspects
        tensor([False,  True])
    """
    if method not in STRENGTH_METHODS:
        raise ValueError(f"method must be one of {STRENGTH_METHODS}, got {method!r}")
    suspects = strength.suspect if weakest_fraction is None else strength.weakest(weakest_fraction)
    if method == "smooth":
        soft = torch.where(suspects, torch.sigmoid(-strength.mean), 0.0)
        return PairAdjustments(suspects, label_smoothing=soft)
    if method == "margin":
        return PairAdjustments(suspects, margin=strength.mean)
    return PairAdjustments(suspects)


def estimate_strength(
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig | None = None,
    ensemble_size: int = 10,
    *,
    num_folds: int | None = DEFAULT_STRENGTH_FOLDS,
    seed: int = 0,
    engine: EngineOptions = HEAD_ENGINE,
) -> PreferenceStrength:
    """Preference strength of every pair from an ensemble of ``ensemble_size`` members.

    With ``num_folds`` set, margins are out of fold (:func:`cl_rlhf.strength.out_of_fold_margins`);
    with ``None``, every member trains on all pairs and scores them in sample. ``engine`` trains
    every member (default: one CPU process).
    """
    if num_folds is None:
        heads = fit_reward_ensemble(
            chosen, rejected, ensemble_size, config, seed=seed, engine=engine
        )
        return preference_strength(ensemble_margins(heads, chosen, rejected))
    margins = out_of_fold_margins(
        chosen, rejected, ensemble_size, config, num_folds=num_folds, seed=seed, engine=engine
    )
    return preference_strength(margins)
