r"""Cement: a concreteness-calibrated margin term added to the NegCLIP InfoNCE loss.

Im, Madhwal, Gupta, "Concrete Jungle: Towards Concreteness Paved Contrastive Negative Mining for
Compositional Understanding", arXiv:2604.13313, 2026. Only the abstract is available and it gives
no formula, so this module implements the abstract's stated properties with our own reading:

* InfoNCE spends gradient on pairs that are already separated (easy pairs still receive
  :math:`\propto p_\text{neg}` each, and there are many of them, so together they dominate);
  Cement adds a margin term whose gradient is exactly zero once a pair clears its margin, and
  grows with the pair's difficulty.
* The margin of a pair rises with the concreteness :math:`c_i \in [0, 1]` of the word edited to
  build its hard negative (concrete edits change more in the image, so demand a wider gap).

For image :math:`x_i`, caption :math:`y_i` and hard-negative caption :math:`\tilde y_i` (unit-norm
embeddings), with the gap :math:`g_i = x_i^\top y_i - x_i^\top \tilde y_i`:

.. math::

    m_i = m_0 + m_1 c_i, \qquad
    h_i = \max(0,\, m_i - g_i), \qquad
    w_i = 1 + h_i / \delta, \qquad
    P = \frac1B \sum_i w_i h_i,

    \mathcal{L}_\text{Cement} = \mathcal{L}_\text{NegCLIP} + \lambda P .

The shortfall :math:`h_i` measures difficulty, and the weight :math:`w_i` grows with it on the
scale :math:`\delta`; the per-pair gradient magnitude :math:`1 + 2 h_i / \delta` is 0 for pairs
that clear their margin and rises linearly with difficulty. This is a design reading of the
abstract, not the paper's (unpublished) equation.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from cl_multimodal.negclip import negclip_loss

CITATION = (
    "Im, Madhwal, Gupta, Concrete Jungle: Towards Concreteness Paved Contrastive Negative Mining "
    "for Compositional Understanding, arXiv:2604.13313, 2026 (formula not published; our reading)"
)


def _check_settings(margin: float, margin_per_concreteness: float, difficulty_scale: float) -> None:
    if margin < 0 or margin_per_concreteness < 0:
        raise ValueError(
            "margin and margin_per_concreteness must be >= 0, got "
            f"{margin} and {margin_per_concreteness}"
        )
    if not difficulty_scale > 0:
        raise ValueError(f"difficulty_scale must be > 0, got {difficulty_scale}")


def cement_margin_penalty(
    positive_similarity: Tensor,
    negative_similarity: Tensor,
    concreteness: Tensor,
    *,
    margin: float = 0.1,
    margin_per_concreteness: float = 0.2,
    difficulty_scale: float = 0.1,
) -> Tensor:
    r"""The Cement margin term :math:`P = \frac1B\sum_i (1 + h_i/\delta)\, h_i`.

    Here :math:`h_i = \max(0, m_0 + m_1 c_i - g_i)` and :math:`g_i` is the positive-minus-negative
    similarity gap of pair i (see the module docstring).

    Args:
        positive_similarity: :math:`x_i^\top y_i`, shape (B,).
        negative_similarity: :math:`x_i^\top \tilde y_i`, shape (B,).
        concreteness: concreteness in [0, 1] of the word edited for each negative, shape (B,).
        margin: base margin :math:`m_0 \ge 0`.
        margin_per_concreteness: margin slope :math:`m_1 \ge 0`.
        difficulty_scale: shortfall :math:`\delta > 0` at which a pair's weight doubles.

    Returns:
        Scalar penalty; zero when every pair clears its margin.

    Example:
        >>> pos, neg = torch.tensor([0.9, 0.2]), torch.tensor([0.1, 0.3])
        >>> float(cement_margin_penalty(pos, neg, torch.tensor([0.0, 1.0]))) > 0
        True
    """
    for name, value in (
        ("positive_similarity", positive_similarity),
        ("negative_similarity", negative_similarity),
        ("concreteness", concreteness),
    ):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.ndim != 1 or value.shape != positive_similarity.shape:
            raise ValueError(
                f"{name} must be 1-D with the shape of positive_similarity "
                f"{tuple(positive_similarity.shape)}, got {tuple(value.shape)}"
            )
    if positive_similarity.numel() == 0:
        raise ValueError("positive_similarity needs at least one pair, got 0")
    if bool(((concreteness < 0) | (concreteness > 1)).any()):
        raise ValueError(
            f"concreteness must lie in [0, 1], got values in "
            f"[{float(concreteness.min())}, {float(concreteness.max())}]"
        )
    _check_settings(margin, margin_per_concreteness, difficulty_scale)
    gap = positive_similarity - negative_similarity
    margins = margin + margin_per_concreteness * concreteness.to(gap.dtype)
    shortfall = torch.relu(margins - gap)
    return ((1.0 + shortfall / difficulty_scale) * shortfall).mean()


def cement_loss(
    image: Tensor,
    text: Tensor,
    hard_text: Tensor,
    concreteness: Tensor,
    logit_scale: float | Tensor,
    *,
    penalty_weight: float = 1.0,
    margin: float = 0.1,
    margin_per_concreteness: float = 0.2,
    difficulty_scale: float = 0.1,
) -> Tensor:
    r"""NegCLIP InfoNCE plus :math:`\lambda` times the Cement margin term on cosine similarities.

    Args:
        image: image embeddings (B, D).
        text: caption embeddings (B, D); row i matches image row i.
        hard_text: one hard-negative caption per image (B, D), row-aligned with ``image``.
        concreteness: concreteness in [0, 1] of the word edited in each hard caption, (B,).
        logit_scale: InfoNCE multiplier t > 0.
        penalty_weight: :math:`\lambda \ge 0`.
        margin: base margin :math:`m_0`.
        margin_per_concreteness: margin slope :math:`m_1`.
        difficulty_scale: :math:`\delta`, see :func:`cement_margin_penalty`.

    Returns:
        Scalar loss.

    Example:
        >>> image, text, hard = torch.randn(3, 4, 8).unbind(0)
        >>> cement_loss(image, text, hard, torch.rand(4), logit_scale=10.0).shape
        torch.Size([])
    """
    if not penalty_weight >= 0:
        raise ValueError(f"penalty_weight must be >= 0, got {penalty_weight}")
    info_nce = negclip_loss(image, text, hard_text, logit_scale)
    if hard_text.shape != image.shape:
        raise ValueError(
            "hard_text must hold one negative per image, shape "
            f"{tuple(image.shape)}, got {tuple(hard_text.shape)}"
        )
    image, text, hard_text = (nn.functional.normalize(x, dim=-1) for x in (image, text, hard_text))
    penalty = cement_margin_penalty(
        (image * text).sum(-1),
        (image * hard_text).sum(-1),
        concreteness,
        margin=margin,
        margin_per_concreteness=margin_per_concreteness,
        difficulty_scale=difficulty_scale,
    )
    return info_nce + penalty_weight * penalty


class CementLoss(nn.Module):
    """:func:`cement_loss` with a learnable log logit scale (initialised at log(1/0.07)).

    Example:
        >>> loss = CementLoss()
        >>> image, text, hard = torch.randn(3, 4, 8).unbind(0)
        >>> loss(image, text, hard, torch.rand(4)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self,
        penalty_weight: float = 1.0,
        margin: float = 0.1,
        margin_per_concreteness: float = 0.2,
        difficulty_scale: float = 0.1,
        initial_log_logit_scale: float = math.log(1 / 0.07),
    ) -> None:
        super().__init__()
        if not penalty_weight >= 0:
            raise ValueError(f"penalty_weight must be >= 0, got {penalty_weight}")
        _check_settings(margin, margin_per_concreteness, difficulty_scale)
        self.penalty_weight = penalty_weight
        self.margin = margin
        self.margin_per_concreteness = margin_per_concreteness
        self.difficulty_scale = difficulty_scale
        self.log_logit_scale = nn.Parameter(torch.tensor(float(initial_log_logit_scale)))

    def forward(
        self, image: Tensor, text: Tensor, hard_text: Tensor, concreteness: Tensor
    ) -> Tensor:
        return cement_loss(
            image,
            text,
            hard_text,
            concreteness,
            self.log_logit_scale.exp().clamp(max=100.0),
            penalty_weight=self.penalty_weight,
            margin=self.margin,
            margin_per_concreteness=self.margin_per_concreteness,
            difficulty_scale=self.difficulty_scale,
        )
