"""Preference strength from an ensemble of reward models.

Wang et al., "Secrets of RLHF in Large Language Models Part II: Reward Modeling", 2024,
arXiv:2401.06080, Sec. 2: train M reward models on the same data (different initialisation and
order) and measure, for every pair i, the reward margins
:math:`d_{i,m} = r_m(x_i, y^c_i) - r_m(x_i, y^r_i)`. Their mean and standard deviation

.. math::

    \\hat\\mu_i = \\frac{1}{M}\\sum_m d_{i,m}, \\qquad
    \\hat\\sigma_i = \\sqrt{\\frac{1}{M-1}\\sum_m (d_{i,m} - \\hat\\mu_i)^2}

are the pair's preference strength and its uncertainty. Pairs with :math:`\\hat\\mu_i < 0` are
likely mislabelled: the paper flips their labels or gives them soft labels, and uses
:math:`\\hat\\mu_i` as an adaptive margin.

A model scoring pairs it was trained on has partly memorised their (possibly wrong) labels, so
in-sample margins hide label noise. :func:`out_of_fold_margins` scores every pair only with
models that did not see it: each ensemble member splits the pairs into folds (two halves by
default, as the paper trains on split halves) and fits one head per fold on the other folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from cl_core.engine_options import EngineOptions
from cl_core.validation import check_embeddings, check_finite
from cl_rlhf.reward_head import RewardHead
from cl_rlhf.training import HEAD_ENGINE, HeadTrainConfig, reward_margins, train_reward_head


@dataclass(frozen=True)
class PreferenceStrength:
    """Per-pair ensemble statistics, each of shape (N,).

    Attributes:
        mean: :math:`\\hat\\mu`, the mean reward margin.
        std: :math:`\\hat\\sigma`, its standard deviation over models.
    """

    mean: Tensor
    std: Tensor

    @property
    def suspect(self) -> Tensor:
        """Boolean (N,) mask of pairs with negative strength (likely mislabelled)."""
        return self.mean < 0

    def weakest(self, fraction: float) -> Tensor:
        """Boolean (N,) mask of the ``round(fraction * N)`` pairs with the lowest strength.

        The paper treats the bottom 20% of pairs by strength as incorrect labels.

        Example:
            >>> s = PreferenceStrength(torch.tensor([0.5, -1.0, 2.0, 0.1]), torch.zeros(4))
            >>> s.weakest(0.5).tolist()
            [False, True, False, True]
        """
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}")
        mask = torch.zeros_like(self.mean, dtype=torch.bool)
        mask[torch.argsort(self.mean)[: round(fraction * self.mean.numel())]] = True
        return mask


def preference_strength(margins: Tensor) -> PreferenceStrength:
    """Mean and unbiased standard deviation over models of the reward margins.

    Args:
        margins: :math:`d_{i,m}` with one row per model, shape (M, N), M >= 2.

    Returns:
        :class:`PreferenceStrength` with ``mean`` and ``std`` of shape (N,).

    Example:
        >>> import torch
        >>> s = preference_strength(torch.tensor([[1.0, -2.0], [3.0, -2.0]]))
        >>> s.mean.tolist(), s.std.tolist(), s.suspect.tolist()
        ([2.0, -2.0], [1.4142135381698608, 0.0], [False, True])
    """
    check_embeddings(margins, "margins", shape="(M, N)")
    check_finite(margins, "margins")
    if margins.shape[0] < 2:
        raise ValueError(f"margins needs M >= 2 models in shape (M, N), got {tuple(margins.shape)}")
    return PreferenceStrength(margins.mean(0), margins.std(0, correction=1))


def ensemble_margins(heads: list[RewardHead], chosen: Tensor, rejected: Tensor) -> Tensor:
    """Reward margins of every head on every pair, shape (M, N)."""
    if not heads:
        raise ValueError("heads must hold at least one reward head, got an empty list")
    return torch.stack([reward_margins(head, chosen, rejected) for head in heads])


def fit_reward_ensemble(
    chosen: Tensor,
    rejected: Tensor,
    num_models: int,
    config: HeadTrainConfig | None = None,
    *,
    seed: int = 0,
    engine: EngineOptions = HEAD_ENGINE,
) -> list[RewardHead]:
    """Train ``num_models`` heads on the same pairs with seeds ``seed, seed + 1, ...``.

    Each head differs in initialisation, pair order and dropout, as in the paper.

    Args:
        chosen: features of the (possibly noisy) preferred responses, shape (N, D).
        rejected: features of the rejected responses, shape (N, D).
        num_models: ensemble size M >= 2 (the paper uses 10).
        config: hyper-parameters of every head (default :class:`HeadTrainConfig`).
        seed: first seed.
        engine: accelerator, precision, processes of every head (default: one CPU process).

    Returns:
        The M trained heads.
    """
    if num_models < 2:
        raise ValueError(f"num_models must be >= 2, got {num_models}")
    return [
        train_reward_head(chosen, rejected, config, seed=seed + offset, engine=engine)
        for offset in range(num_models)
    ]


def out_of_fold_margins(
    chosen: Tensor,
    rejected: Tensor,
    num_models: int,
    config: HeadTrainConfig | None = None,
    *,
    num_folds: int = 2,
    seed: int = 0,
    engine: EngineOptions = HEAD_ENGINE,
) -> Tensor:
    """Reward margins of every pair from ``num_models`` members that never trained on it.

    Member m draws its own random partition of the pairs into ``num_folds`` folds (seeded by
    ``seed + m``) and trains one head per fold on the remaining folds; the head of fold f
    scores the pairs of fold f. Cost: ``num_models * num_folds`` heads, each on
    ``(num_folds - 1) / num_folds`` of the pairs.

    Args:
        chosen: features of the (possibly noisy) preferred responses, shape (N, D).
        rejected: features of the rejected responses, shape (N, D).
        num_models: ensemble size M >= 2.
        config: hyper-parameters of every head (default :class:`HeadTrainConfig`).
        num_folds: folds per member, in [2, N].
        seed: first seed.
        engine: accelerator, precision, processes of every head (default: one CPU process).

    Returns:
        Margins of shape (M, N), pass them to :func:`preference_strength`.

    Example:
        >>> good, bad = torch.randn(20, 4) + 1, torch.randn(20, 4)
        >>> config = HeadTrainConfig(epochs=1, hidden_dim=8)
        >>> out_of_fold_margins(good, bad, 2, config).shape
        torch.Size([2, 20])
    """
    if num_models < 2:
        raise ValueError(f"num_models must be >= 2, got {num_models}")
    num_pairs = chosen.shape[0]
    if not 2 <= num_folds <= num_pairs:
        raise ValueError(f"num_folds must be in [2, {num_pairs}] (N pairs), got {num_folds}")
    margins = torch.empty(num_models, num_pairs)
    for member in range(num_models):
        generator = torch.Generator().manual_seed(seed + member)
        fold_of = torch.randperm(num_pairs, generator=generator) % num_folds
        for fold in range(num_folds):
            held_out = fold_of == fold
            head = train_reward_head(
                chosen[~held_out],
                rejected[~held_out],
                config,
                seed=(seed + member) * num_folds + fold,
                engine=engine,
            )
            margins[member, held_out] = reward_margins(head, chosen[held_out], rejected[held_out])
    return margins
