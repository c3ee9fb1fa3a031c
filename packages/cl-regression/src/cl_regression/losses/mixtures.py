r"""Mixup-your-own-pairs: which samples SupReMix mixes for each anchor, and with which weights.

SupReMix (Wu, Dong et al., "Mixup Your Own Pairs", 2023, arXiv:2309.16633) adds two kinds of
embedding-space mixtures to each anchor :math:`i` of a supervised contrastive batch:

* anchor-inclusive mixtures, hard negatives: :math:`m^-_{ik} = \lambda z_i + (1-\lambda) z_k` with
  :math:`k` in another label bin and :math:`\lambda \sim U[0, 1)`; their label
  :math:`\lambda y_i + (1-\lambda) y_k` differs from :math:`y_i`;
* anchor-exclusive mixtures, hard positives: :math:`m^+_{ijk} = \lambda z_j + (1-\lambda) z_k` with
  :math:`y_j < y_i < y_k` (both in other bins) and :math:`\lambda = (y_k - y_i)/(y_k - y_j)`, so the
  mixed label :math:`\lambda y_j + (1-\lambda) y_k` equals :math:`y_i` exactly.

The paper does not state the distribution of :math:`\lambda` for the negative mixtures nor how many
mixtures are drawn per anchor; here :math:`\lambda \sim U[0, 1)` and the counts are arguments.
The plan holds indices and weights only, so the loss is a deterministic function of the embeddings
once a plan is fixed (which is what the tests' gradient checks rely on).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from cl_regression.validation import check_bin_labels, check_count, check_targets


@dataclass(frozen=True)
class MixturePlan:
    """Partners and weights of each anchor's mixtures (N anchors, Kn negative, Kp positive ones).

    Attributes:
        negative_partner: (N, Kn) index k of :math:`m^-_{ik} = \\lambda z_i + (1-\\lambda) z_k`.
        negative_lambda: (N, Kn) weight :math:`\\lambda` of the anchor in each negative mixture.
        negative_valid: (N, Kn) bool; False where the anchor has no sample in another bin.
        positive_low: (N, Kp) index j with :math:`y_j < y_i`.
        positive_high: (N, Kp) index k with :math:`y_k > y_i`.
        positive_lambda: (N, Kp) :math:`(y_k - y_i)/(y_k - y_j)`, the weight of :math:`z_j`.
        positive_valid: (N, Kp) bool; False where no sample lies below or none above the anchor.
    """

    negative_partner: Tensor
    negative_lambda: Tensor
    negative_valid: Tensor
    positive_low: Tensor
    positive_high: Tensor
    positive_lambda: Tensor
    positive_valid: Tensor

    @property
    def num_negative(self) -> int:
        """Negative mixtures per anchor (Kn)."""
        return int(self.negative_partner.shape[1])

    @property
    def num_positive(self) -> int:
        """Positive mixtures per anchor (Kp)."""
        return int(self.positive_low.shape[1])


def sample_mixture_plan(
    targets: Tensor,
    bin_labels: Tensor,
    *,
    num_negative_mixtures: int = 2,
    num_positive_mixtures: int = 2,
    generator: torch.Generator | None = None,
) -> MixturePlan:
    r"""Draw each anchor's mixture partners (uniformly among eligible samples, with replacement).

    Args:
        targets: (N,) floating regression targets.
        bin_labels: (N,) integer bins; samples in the anchor's bin are its positives and are never
            mixed with it.
        num_negative_mixtures: Kn >= 0 anchor-inclusive mixtures per anchor.
        num_positive_mixtures: Kp >= 0 anchor-exclusive mixtures per anchor.
        generator: optional random generator, for reproducible plans.

    Returns:
        A :class:`MixturePlan` on the device of ``targets``.

    Example:
        >>> y = torch.tensor([0.0, 1.0, 2.0, 3.0])
        >>> plan = sample_mixture_plan(y, torch.arange(4), num_positive_mixtures=1)
        >>> bool(plan.positive_valid[0]), bool(plan.positive_valid[1])
        (False, True)
    """
    check_targets(targets)
    check_bin_labels(bin_labels, targets.shape[0])
    check_count(num_negative_mixtures, "num_negative_mixtures")
    check_count(num_positive_mixtures, "num_positive_mixtures")
    y = targets.detach()
    other_bin = bin_labels.unsqueeze(1) != bin_labels.unsqueeze(0)
    below = other_bin & (y.unsqueeze(0) < y.unsqueeze(1))
    above = other_bin & (y.unsqueeze(0) > y.unsqueeze(1))

    negative_partner, negative_valid = _draw(other_bin, num_negative_mixtures, generator)
    negative_lambda = torch.rand(
        negative_partner.shape, generator=generator, dtype=y.dtype, device="cpu"
    ).to(y.device)
    positive_low, low_valid = _draw(below, num_positive_mixtures, generator)
    positive_high, high_valid = _draw(above, num_positive_mixtures, generator)
    y_low, y_high = y[positive_low], y[positive_high]
    positive_valid = low_valid & high_valid
    gap = torch.where(positive_valid, y_high - y_low, torch.ones_like(y_low))
    positive_lambda = torch.where(positive_valid, (y_high - y.unsqueeze(1)) / gap, 0.5)
    return MixturePlan(
        negative_partner=negative_partner,
        negative_lambda=negative_lambda,
        negative_valid=negative_valid,
        positive_low=positive_low,
        positive_high=positive_high,
        positive_lambda=positive_lambda,
        positive_valid=positive_valid,
    )


def _draw(eligible: Tensor, count: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """``count`` column indices per row, uniform over its eligible columns, and a validity flag.

    Rows with no eligible column get index 0 and ``valid=False``.
    """
    num_rows = eligible.shape[0]
    has_any = eligible.any(dim=1)
    if count == 0:
        empty = torch.zeros(num_rows, 0, dtype=torch.long, device=eligible.device)
        return empty, empty.bool()
    weights = eligible.double().cpu()
    weights[~has_any.cpu(), 0] = 1.0
    drawn = torch.multinomial(weights, count, replacement=True, generator=generator)
    valid = has_any.unsqueeze(1).expand(num_rows, count)
    return drawn.to(eligible.device), valid.clone()


def mix_embeddings(embeddings: Tensor, plan: MixturePlan) -> tuple[Tensor, Tensor]:
    """The negative (N, Kn, D) and positive (N, Kp, D) mixtures of ``embeddings`` under ``plan``."""
    anchor = embeddings.unsqueeze(1)
    lam_negative = plan.negative_lambda.to(embeddings.dtype).unsqueeze(2)
    negatives = lam_negative * anchor + (1 - lam_negative) * embeddings[plan.negative_partner]
    lam_positive = plan.positive_lambda.to(embeddings.dtype).unsqueeze(2)
    positives = (
        lam_positive * embeddings[plan.positive_low]
        + (1 - lam_positive) * embeddings[plan.positive_high]
    )
    return negatives, positives


def mixture_targets(targets: Tensor, plan: MixturePlan) -> tuple[Tensor, Tensor]:
    """Labels of the negative (N, Kn) and positive (N, Kp) mixtures (the latter equal y_i)."""
    y = targets.detach()
    negatives = (
        plan.negative_lambda * y.unsqueeze(1)
        + (1 - plan.negative_lambda) * y[plan.negative_partner]
    )
    positives = (
        plan.positive_lambda * y[plan.positive_low]
        + (1 - plan.positive_lambda) * y[plan.positive_high]
    )
    return negatives, positives
