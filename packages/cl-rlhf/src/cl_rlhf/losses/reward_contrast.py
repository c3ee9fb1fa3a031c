"""SimCSE-style contrastive auxiliary on a reward model's representations.

Wang et al., "Secrets of RLHF in Large Language Models Part II: Reward Modeling", 2024,
arXiv:2401.06080, Sec. 4 (contrastive learning for reward modelling): the reward model is trained
with :math:`\\mathcal{L} = \\mathcal{L}_{rm} + \\beta\\,\\mathcal{L}_{cl}`, where
:math:`\\mathcal{L}_{cl}` is SimCSE's InfoNCE (Gao, Yao, Chen, EMNLP 2021, arXiv:2104.08821) between
two dropout passes of the same input. The inputs are either the representations of the chosen
and rejected responses ("pairs") or the preference differences
:math:`\\{f_c - f_r,\\; f_r - f_c\\}` ("differences"). The InfoNCE itself is
:func:`cl_core.losses.info_nce`.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from cl_core.losses import info_nce

ContrastViews = Literal["pairs", "differences"]
CONTRAST_VIEWS: tuple[str, ...] = ("pairs", "differences")


def reward_contrast_loss(
    first_chosen: Tensor,
    first_rejected: Tensor,
    second_chosen: Tensor,
    second_rejected: Tensor,
    *,
    views: ContrastViews = "pairs",
    temperature: float = 0.05,
    gather: bool = False,
) -> Tensor:
    r"""InfoNCE between two dropout views of a batch of preference pairs.

    With ``views="pairs"`` the 2N items are :math:`u = [h_c; h_r]`; with ``"differences"`` they
    are :math:`u = [h_c - h_r;\ h_r - h_c]`. Item :math:`u^{(1)}_i` (first dropout pass) must
    pick its own second pass :math:`u^{(2)}_i` among all 2N second-pass items:

    .. math::

        \mathcal{L}_{cl} = -\frac{1}{2N}\sum_i \log
            \frac{\exp(\cos(u^{(1)}_i, u^{(2)}_i)/\tau)}
                 {\sum_j \exp(\cos(u^{(1)}_i, u^{(2)}_j)/\tau)}

    Args:
        first_chosen: first-pass representations of the chosen responses, shape (N, H).
        first_rejected: first-pass representations of the rejected responses, shape (N, H).
        second_chosen: second-pass representations of the chosen responses, shape (N, H).
        second_rejected: second-pass representations of the rejected responses, shape (N, H).
        views: ``"pairs"`` or ``"differences"``.
        temperature: :math:`\tau > 0` (SimCSE uses 0.05).
        gather: data-parallel training: every local item picks its second pass among the
            second-pass items of all processes (:func:`cl_core.losses.info_nce` with ``gather``),
            so N is the global batch.

    Returns:
        A scalar loss.

    Example:
        >>> import torch
        >>> h = [torch.randn(4, 16) for _ in range(4)]
        >>> reward_contrast_loss(*h, views="differences").shape
        torch.Size([])
    """
    if views not in CONTRAST_VIEWS:
        raise ValueError(f"views must be one of {CONTRAST_VIEWS}, got {views!r}")
    shapes = {
        tuple(t.shape) for t in (first_chosen, first_rejected, second_chosen, second_rejected)
    }
    if len(shapes) != 1:
        raise ValueError(
            "the four representation batches must share one shape (N, H), got shapes "
            f"{sorted(shapes)}"
        )
    first, second = contrast_views(
        first_chosen, first_rejected, second_chosen, second_rejected, views=views
    )
    return info_nce(first, second, temperature=temperature, gather=gather)


def contrast_views(
    first_chosen: Tensor,
    first_rejected: Tensor,
    second_chosen: Tensor,
    second_rejected: Tensor,
    *,
    views: ContrastViews = "pairs",
) -> tuple[Tensor, Tensor]:
    """The two (2N, H) view batches: ``[h_c; h_r]`` (pairs) or ``[h_c - h_r; h_r - h_c]``.

    Shared by the SimCSE and the SwAV auxiliaries; inputs as in :func:`reward_contrast_loss`.
    """
    if views == "pairs":
        return (
            torch.cat((first_chosen, first_rejected)),
            torch.cat((second_chosen, second_rejected)),
        )
    first_gap = first_chosen - first_rejected
    second_gap = second_chosen - second_rejected
    return torch.cat((first_gap, -first_gap)), torch.cat((second_gap, -second_gap))
