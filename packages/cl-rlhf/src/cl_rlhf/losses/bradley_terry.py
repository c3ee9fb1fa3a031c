"""Bradley-Terry reward-model loss with label smoothing and an adaptive margin.

Bradley & Terry, "Rank Analysis of Incomplete Block Designs", Biometrika 1952; as a reward-model
loss in Ouyang et al., "Training language models to follow instructions with human feedback",
2022, arXiv:2203.02155. Label smoothing and the adaptive margin follow Wang et al., "Secrets of
RLHF in Large Language Models Part II: Reward Modeling", 2024, arXiv:2401.06080 (Sec. 3); the
margin sits inside the sigmoid as in the Llama 2 margin loss (Touvron et al., 2023,
arXiv:2307.09288).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.validation import check_reduction
from cl_rlhf.validation import check_per_pair, check_rewards


def bradley_terry_loss(
    chosen_reward: Tensor,
    rejected_reward: Tensor,
    *,
    margin: float | Tensor | None = None,
    label_smoothing: float | Tensor = 0.0,
    reduction: str = "mean",
) -> Tensor:
    r"""Negative log-likelihood of the preferences under a Bradley-Terry model.

    With :math:`\Delta_i = r(x_i, y^c_i) - r(x_i, y^r_i) - m_i` and smoothing :math:`\alpha_i`:

    .. math::

        \ell_i = -(1 - \alpha_i)\,\log\sigma(\Delta_i) - \alpha_i\,\log\sigma(-\Delta_i)

    :math:`\alpha = 0, m = 0` is the plain loss :math:`-\log\sigma(r_c - r_r)`. A margin
    :math:`m_i` (e.g. the preference strength :math:`\hat\mu_i` of an ensemble) asks for a larger
    reward gap on clear pairs and a smaller one on weak pairs. :math:`\alpha_i > 0` is a soft
    label: the target probability that the chosen response wins is :math:`1 - \alpha_i`.

    Args:
        chosen_reward: rewards of the preferred responses, shape (N,).
        rejected_reward: rewards of the rejected responses, shape (N,).
        margin: ``None``, a float, or per-pair margins of shape (N,) (treated as constants only
            if the caller detaches them).
        label_smoothing: :math:`\alpha`, a float or per-pair values of shape (N,), all in [0, 1].
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (N,) per-pair losses).

    Returns:
        A scalar, or the (N,) per-pair losses for ``"none"``.

    Example:
        >>> import torch
        >>> loss = bradley_terry_loss(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 2.0]))
        >>> round(loss.item(), 4)  # mean of log(1 + e^-1) and log 2
        0.5032
    """
    check_rewards(chosen_reward, rejected_reward)
    check_reduction(reduction)
    num_pairs = chosen_reward.shape[0]
    gap = chosen_reward - rejected_reward
    if margin is not None:
        gap = gap - check_per_pair(margin, "margin", num_pairs, gap)
    smoothing = check_per_pair(
        label_smoothing, "label_smoothing", num_pairs, gap, low=0.0, high=1.0
    )
    losses = -(1.0 - smoothing) * F.logsigmoid(gap) - smoothing * F.logsigmoid(-gap)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


class BradleyTerryLoss(nn.Module):
    """Module form of :func:`bradley_terry_loss` with a fixed (global) label smoothing.

    Per-pair margins and smoothing go to :meth:`forward`.

    Example:
        >>> import torch
        >>> BradleyTerryLoss()(torch.tensor([1.0]), torch.tensor([0.0])).item() > 0
        True
    """

    def __init__(self, label_smoothing: float = 0.0, reduction: str = "mean") -> None:
        super().__init__()
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        check_reduction(reduction)
        self.label_smoothing = label_smoothing
        self.reduction = reduction

    def forward(
        self,
        chosen_reward: Tensor,
        rejected_reward: Tensor,
        margin: Tensor | None = None,
        label_smoothing: Tensor | None = None,
    ) -> Tensor:
        """Return :func:`bradley_terry_loss`; ``label_smoothing`` overrides the module's value."""
        return bradley_terry_loss(
            chosen_reward,
            rejected_reward,
            margin=margin,
            label_smoothing=self.label_smoothing if label_smoothing is None else label_smoothing,
            reduction=self.reduction,
        )
