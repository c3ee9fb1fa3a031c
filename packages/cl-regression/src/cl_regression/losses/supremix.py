r"""SupReMix: supervised contrastive regression with mixture hard negatives and hard positives.

Wu, Dong et al., "Mixup Your Own Pairs: Supervised Contrastive Learning for Regression with Mixup",
2023, arXiv:2309.16633.

For L2-normalised embeddings :math:`z`, label bins :math:`b`, anchor :math:`i`, its positives
:math:`P(i) = \{p \ne i : b_p = b_i\}`, its negatives :math:`N(i) = \{a : b_a \ne b_i\}`, its
anchor-inclusive mixtures :math:`M^-(i)` (hard negatives) and anchor-exclusive mixtures
:math:`M^+(i)` (hard positives, label exactly :math:`y_i`; see
:mod:`cl_regression.losses.mixtures`),

.. math::

    \ell_i = -\frac{\tau}{\tau_{base}} \frac{1}{|P(i) \cup M^+(i)|}
        \sum_{p \in P(i) \cup M^+(i)} \log \frac{e^{s_{ip}/\tau}}
        {\sum_{a \in P(i) \cup M^+(i)} e^{s_{ia}/\tau}
         + \sum_{a \in N(i) \cup M^-(i)} w_{ia} e^{s_{ia}/\tau}}

with cosine similarity :math:`s` (mixtures are re-normalised) and label-distance weights on the
negative terms, :math:`w_{ia} = 1/(1+|y_i-y_a|)` (``"l1"``), :math:`1/(1+(y_i-y_a)^2)` (``"l2"``) or
1 (``"none"``); a mixture's label is its mixed label. Positives keep weight 1. Anchors with no
positive at all are left out of the mean (as in SupCon). The cross-entropy itself is
:func:`cl_core.losses.masked_logits_loss` with a positive mask, a negative mask and log-weights.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.losses import masked_logits_loss
from cl_regression.losses.mixtures import (
    MixturePlan,
    mix_embeddings,
    mixture_targets,
    sample_mixture_plan,
)
from cl_regression.validation import (
    check_bin_labels,
    check_choice,
    check_count,
    check_embeddings,
    check_positive,
    check_targets,
)

DistanceWeighting = Literal["l1", "l2", "none"]
Reduction = Literal["mean", "sum", "none"]

CITATION = (
    "Wu, Dong et al. Mixup Your Own Pairs: Supervised Contrastive Learning for Regression with "
    "Mixup. arXiv:2309.16633, 2023."
)


def supremix_loss(
    embeddings: Tensor,
    targets: Tensor,
    *,
    bin_labels: Tensor | None = None,
    plan: MixturePlan | None = None,
    num_negative_mixtures: int = 2,
    num_positive_mixtures: int = 2,
    temperature: float = 0.07,
    base_temperature: float = 0.07,
    distance_weighting: DistanceWeighting = "l1",
    reduction: Reduction = "mean",
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""SupReMix loss of a batch of embeddings with regression targets (formula in the module doc).

    Args:
        embeddings: (N, D) embeddings; several views of a sample are separate rows with the same
            target (and bin), which makes them each other's positives.
        targets: (N,) floating regression targets.
        bin_labels: (N,) integer label bins defining positives; None means exact target equality.
        plan: the mixtures to use; None draws one with :func:`sample_mixture_plan`.
        num_negative_mixtures: anchor-inclusive mixtures per anchor when ``plan`` is None.
        num_positive_mixtures: anchor-exclusive mixtures per anchor when ``plan`` is None.
        temperature: :math:`\tau > 0` (paper default 0.07).
        base_temperature: :math:`\tau_{base} > 0`; the loss is scaled by :math:`\tau/\tau_{base}`.
        distance_weighting: ``"l1"``, ``"l2"`` or ``"none"`` weights on negative terms.
        reduction: ``"mean"`` / ``"sum"`` over anchors that have a positive, or ``"none"`` for the
            (N,) per-anchor losses (0 for anchors without a positive).
        generator: random generator used when ``plan`` is None.

    Returns:
        A scalar, or an (N,) tensor for ``reduction="none"``.

    Raises:
        ValueError: bad shapes or values, or no anchor in the batch has a positive.
        TypeError: wrong types or dtypes.

    Example:
        >>> z, y = torch.randn(8, 4), torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
        >>> supremix_loss(z, y).shape
        torch.Size([])
    """
    check_embeddings(embeddings)
    num_anchors = embeddings.shape[0]
    check_targets(targets, num_anchors)
    if bin_labels is None:
        bin_labels = torch.unique(targets.detach(), return_inverse=True)[1]
    check_bin_labels(bin_labels, num_anchors)
    check_positive(temperature, "temperature")
    check_positive(base_temperature, "base_temperature")
    check_choice(distance_weighting, ("l1", "l2", "none"), "distance_weighting")
    check_choice(reduction, ("mean", "sum", "none"), "reduction")
    if plan is None:
        check_count(num_negative_mixtures, "num_negative_mixtures")
        check_count(num_positive_mixtures, "num_positive_mixtures")
        plan = sample_mixture_plan(
            targets,
            bin_labels,
            num_negative_mixtures=num_negative_mixtures,
            num_positive_mixtures=num_positive_mixtures,
            generator=generator,
        )
    else:
        _check_plan(plan, num_anchors)

    z = F.normalize(embeddings, dim=1)
    negative_mixtures, positive_mixtures = mix_embeddings(z, plan)
    num_negative, num_positive = plan.num_negative, plan.num_positive
    dim = z.shape[1]
    candidates = torch.cat(
        [
            z,
            F.normalize(negative_mixtures, dim=2).reshape(num_anchors * num_negative, dim),
            F.normalize(positive_mixtures, dim=2).reshape(num_anchors * num_positive, dim),
        ]
    )
    same_bin = bin_labels.unsqueeze(1) == bin_labels.unsqueeze(0)
    own_negative = _own_block(plan.negative_valid)
    own_positive = _own_block(plan.positive_valid)
    positive_mask = torch.cat([same_bin, torch.zeros_like(own_negative), own_positive], dim=1)
    negative_mask = torch.cat([~same_bin, own_negative, torch.zeros_like(own_positive)], dim=1)
    positive_mask[torch.arange(num_anchors), torch.arange(num_anchors)] = False

    log_weights = None
    if distance_weighting != "none":
        y = targets.detach()
        negative_labels, positive_labels = mixture_targets(targets, plan)
        candidate_labels = torch.cat([y, negative_labels.reshape(-1), positive_labels.reshape(-1)])
        gap = (y.unsqueeze(1) - candidate_labels.unsqueeze(0)).abs()
        if distance_weighting == "l2":
            gap = gap.square()
        log_weights = -torch.log1p(gap).to(z.dtype)

    has_positive = positive_mask.any(dim=1)
    if not bool(has_positive.any()):
        raise ValueError(
            "no anchor has a positive: give each sample two views, coarser bin_labels, or "
            "positive mixtures (targets strictly between two other bins)"
        )
    rows = has_positive.nonzero().squeeze(1)
    per_anchor = masked_logits_loss(
        z[rows],
        candidates,
        temperature=temperature,
        positive_mask=positive_mask[rows],
        negative_mask=negative_mask[rows],
        log_weights=None if log_weights is None else log_weights[rows],
        positives_in_denominator="all",
        reduction="none",
    ) * (temperature / base_temperature)
    if reduction == "mean":
        return per_anchor.mean()
    if reduction == "sum":
        return per_anchor.sum()
    return per_anchor.new_zeros(num_anchors).index_put((rows,), per_anchor)


def _own_block(valid: Tensor) -> Tensor:
    """(N, N*K) mask selecting, for row i, its own K mixture columns i*K .. i*K+K-1 where valid."""
    num_anchors, count = valid.shape
    owner = torch.arange(num_anchors, device=valid.device).repeat_interleave(count)
    own = owner.unsqueeze(0) == torch.arange(num_anchors, device=valid.device).unsqueeze(1)
    return own & valid.reshape(1, -1)


def _check_plan(plan: MixturePlan, num_anchors: int) -> None:
    """Raise unless every tensor of ``plan`` has ``num_anchors`` rows and indices are in range."""
    if not isinstance(plan, MixturePlan):
        raise TypeError(f"plan must be a MixturePlan, got {type(plan).__name__}")
    for name in ("negative_partner", "positive_low", "positive_high"):
        index = getattr(plan, name)
        if index.shape[0] != num_anchors:
            raise ValueError(
                f"plan.{name} must have {num_anchors} rows, got shape {tuple(index.shape)}"
            )
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= num_anchors):
            raise ValueError(f"plan.{name} entries must lie in [0, {num_anchors})")


class SupReMixLoss(nn.Module):
    """Module form of :func:`supremix_loss`, holding its hyper-parameters.

    Example:
        >>> loss = SupReMixLoss(temperature=0.1)
        >>> loss(torch.randn(6, 4), torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0, 2.0])).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self,
        *,
        num_negative_mixtures: int = 2,
        num_positive_mixtures: int = 2,
        temperature: float = 0.07,
        base_temperature: float = 0.07,
        distance_weighting: DistanceWeighting = "l1",
    ) -> None:
        super().__init__()
        check_count(num_negative_mixtures, "num_negative_mixtures")
        check_count(num_positive_mixtures, "num_positive_mixtures")
        check_positive(temperature, "temperature")
        check_positive(base_temperature, "base_temperature")
        check_choice(distance_weighting, ("l1", "l2", "none"), "distance_weighting")
        self.num_negative_mixtures = num_negative_mixtures
        self.num_positive_mixtures = num_positive_mixtures
        self.temperature = temperature
        self.base_temperature = base_temperature
        self.distance_weighting: DistanceWeighting = distance_weighting

    def forward(
        self,
        embeddings: Tensor,
        targets: Tensor,
        bin_labels: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Return :func:`supremix_loss` of the batch with this module's hyper-parameters."""
        return supremix_loss(
            embeddings,
            targets,
            bin_labels=bin_labels,
            num_negative_mixtures=self.num_negative_mixtures,
            num_positive_mixtures=self.num_positive_mixtures,
            temperature=self.temperature,
            base_temperature=self.base_temperature,
            distance_weighting=self.distance_weighting,
            generator=generator,
        )
