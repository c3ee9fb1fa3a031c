"""MetaRM: keep the reward model discriminative on samples from a shifted distribution.

Wang et al., "Secrets of RLHF in Large Language Models Part II: Reward Modeling", 2024,
arXiv:2401.06080, MetaRM section (its Algorithm 1). For a prompt x with k responses
:math:`s_1..s_k` drawn from the shifted distribution (unlabelled), the difference objective is

.. math::

    J_\\theta(x) = \\frac{2}{k^2}\\sum_{i<j}
        \\sigma\\big(|r_\\theta(x, s_i) - r_\\theta(x, s_j)|\\big)

and one MetaRM step on a batch of shifted groups :math:`X_s` and labelled pairs :math:`X_t` is

.. math::

    \\theta' = \\theta + \\eta\\,\\nabla_\\theta J_\\theta(X_s), \\qquad
    \\theta \\leftarrow \\theta - \\alpha\\,\\nabla_\\theta\\,\\mathcal{L}_{BT}(\\theta'; X_t).

Our reading: the gradient-ascent step on J moves the parameters towards a point where the
shifted responses are told apart; the Bradley-Terry loss is then taken *at that point*, so the
update prefers parameters whose BT fit survives the ascent. With ``second_order=False`` (the
default, first-order MAML) :math:`\\nabla_\\theta \\mathcal{L}_{BT}(\\theta')` is taken as
:math:`\\nabla_{\\theta'} \\mathcal{L}_{BT}(\\theta')`; with ``True`` it is differentiated through
the ascent step. In this package the shifted samples are the two responses (k = 2) of
*unlabelled* pairs from the shifted distribution: here, pairs with long responses while the
labelled pairs have short ones (:func:`length_buckets`).

Training runs on the kernel's engine (:func:`cl_core.training.fit_objective`): the whole meta step
is one objective. The ascent is taken inside it with ``torch.autograd.grad``; the BT loss is
evaluated at the lifted point with ``torch.func.functional_call``. For first-order MetaRM the
ascent step enters the lifted point as a constant, :math:`\\theta' = \\theta + \\eta\\,
\\mathrm{sg}(\\nabla J)`, so the engine's backward pass gives
:math:`\\nabla_{\\theta'}\\mathcal{L}_{BT}(\\theta')` on :math:`\\theta`; for second order it is
differentiated through. Lightning then takes the AdamW step as for any other objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import functional_call

from cl_core.engine_options import EngineOptions
from cl_core.threads import torch_threads
from cl_rlhf.losses import bradley_terry_loss
from cl_rlhf.reward_head import RewardHead
from cl_rlhf.training import (
    HEAD_ENGINE,
    HeadTrainConfig,
    chained_order_loader,
    continue_random_stream,
)


def metarm_objective(rewards: Tensor) -> Tensor:
    r"""Difference objective :math:`J`, averaged over prompts (module docstring).

    Args:
        rewards: rewards of k >= 2 shifted responses per prompt, shape (P, k).

    Returns:
        A scalar, :math:`\frac{1}{P}\sum_x \frac{2}{k^2}\sum_{i<j}\sigma(|r_i - r_j|)`.

    Example:
        >>> metarm_objective(torch.tensor([[0.0, 0.0]])).item()
        0.25
    """
    if rewards.dim() != 2 or rewards.shape[1] < 2 or rewards.shape[0] < 1:
        raise ValueError(
            f"rewards must have shape (P, k) with P >= 1 and k >= 2, got {tuple(rewards.shape)}"
        )
    k = rewards.shape[1]
    first, second = torch.triu_indices(k, k, offset=1)
    gaps = (rewards[:, first] - rewards[:, second]).abs()
    return (2.0 / k**2) * torch.sigmoid(gaps).sum(1).mean()


@dataclass(frozen=True)
class MetaRMConfig:
    """Settings of the meta step.

    Attributes:
        meta_lr: :math:`\\eta > 0`, the step size of the ascent on J.
        shifted_batch_size: shifted groups per step.
        second_order: differentiate the BT loss through the ascent step.
    """

    meta_lr: float = 0.1
    shifted_batch_size: int = 64
    second_order: bool = False

    def __post_init__(self) -> None:
        if not self.meta_lr > 0:
            raise ValueError(f"meta_lr must be > 0, got {self.meta_lr}")
        if self.shifted_batch_size < 1:
            raise ValueError(f"shifted_batch_size must be >= 1, got {self.shifted_batch_size}")


def train_metarm_head(
    chosen: Tensor,
    rejected: Tensor,
    shifted: Tensor,
    config: HeadTrainConfig | None = None,
    meta: MetaRMConfig | None = None,
    *,
    seed: int = 0,
    engine: EngineOptions = HEAD_ENGINE,
) -> RewardHead:
    """Fit a :class:`RewardHead` with MetaRM steps (ascent on J, then BT at the lifted point).

    Pairs are visited in the order of :func:`cl_rlhf.training.train_reward_head` (same ``seed``,
    same batches); every step also draws ``shifted_batch_size`` shifted groups with replacement,
    from the generator of the pair orders.

    Args:
        chosen: features of the preferred responses of the labelled pairs, shape (N, D).
        rejected: features of their rejected responses, shape (N, D).
        shifted: features of k >= 2 unlabelled shifted responses per prompt, shape (P, k, D).
        config: head hyper-parameters (default :class:`HeadTrainConfig`; the contrastive
            auxiliary is not used here).
        meta: the meta-step settings (default :class:`MetaRMConfig`).
        seed: seeds initialisation, sampling and dropout.
        engine: accelerator and precision (default: one CPU process). One process only: the
            ascent step is taken on each process's own shifted groups.

    Returns:
        The trained head, in eval mode.

    Raises:
        ValueError: bad shapes, or an engine with several processes.

    Example:
        >>> good, bad = torch.randn(32, 8) + 1, torch.randn(32, 8)
        >>> head = train_metarm_head(good, bad, torch.randn(10, 2, 8), HeadTrainConfig(epochs=1))
        >>> head(good).shape
        torch.Size([32])
    """
    from cl_core.training import fit_objective

    if chosen.dim() != 2 or chosen.shape != rejected.shape or chosen.shape[0] < 1:
        raise ValueError(
            "chosen and rejected must be non-empty feature matrices of one shape (N, D), got "
            f"{tuple(chosen.shape)} and {tuple(rejected.shape)}"
        )
    if shifted.dim() != 3 or shifted.shape[1] < 2 or shifted.shape[2] != chosen.shape[1]:
        raise ValueError(
            f"shifted must have shape (P, k >= 2, {chosen.shape[1]}), got {tuple(shifted.shape)}"
        )
    if engine.world_size_hint() > 1:
        raise ValueError(
            "train_metarm_head trains on one process (the ascent step is per process), got "
            f"devices={engine.devices}, num_nodes={engine.num_nodes}"
        )
    config = config if config is not None else HeadTrainConfig()
    meta = meta if meta is not None else MetaRMConfig()
    num_groups = shifted.shape[0]
    groups_per_step = min(meta.shifted_batch_size, num_groups)
    generator = torch.Generator().manual_seed(seed)

    def objective(head: RewardHead, rows: Tensor) -> Tensor:
        groups = torch.randint(num_groups, (groups_per_step,), generator=generator)
        batch = shifted[groups].to(rows.device)
        named = dict(head.named_parameters())
        rewards = head(batch.flatten(0, 1)).view(batch.shape[0], batch.shape[1])
        ascent = torch.autograd.grad(
            metarm_objective(rewards), list(named.values()), create_graph=meta.second_order
        )
        lifted = {
            name: param + meta.meta_lr * (step if meta.second_order else step.detach())
            for (name, param), step in zip(named.items(), ascent, strict=True)
        }
        index = rows.cpu()
        return bradley_terry_loss(
            functional_call(head, lifted, (chosen[index].to(rows.device),)),
            functional_call(head, lifted, (rejected[index].to(rows.device),)),
        )

    with torch_threads(1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = RewardHead(chosen.shape[1], config.hidden_dim, config.dropout)
        fit_objective(
            head,
            objective,
            chained_order_loader(chosen.shape[0], config.batch_size, generator),
            epochs=config.epochs,
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
            engine=engine.with_changes(seed=seed),
            callbacks=[continue_random_stream()],
        )
    return head.eval()


def length_buckets(lengths: Tensor, quantile: float = 0.5) -> tuple[Tensor, Tensor]:
    """Split pairs into a short and a long bucket by a length quantile.

    Args:
        lengths: one length per pair (e.g. words in the longer of its two responses), (N,).
        quantile: the cut, in (0, 1).

    Returns:
        Boolean masks ``(short, long)``: ``lengths <= cut`` and its complement.

    Example:
        >>> short, long = length_buckets(torch.tensor([1.0, 5.0, 2.0, 9.0]))
        >>> short.tolist(), long.tolist()
        ([True, False, True, False], [False, True, False, True])
    """
    if lengths.dim() != 1 or lengths.numel() < 2:
        raise ValueError(f"lengths must have shape (N,) with N >= 2, got {tuple(lengths.shape)}")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    short = lengths <= torch.quantile(lengths.double(), quantile)
    return short, ~short
