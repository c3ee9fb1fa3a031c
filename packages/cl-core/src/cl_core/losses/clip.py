"""The symmetric image-text cross-entropy of CLIP.

Radford et al., "Learning Transferable Visual Models From Natural Language Supervision", ICML 2021,
arXiv:2103.00020. Label smoothing as used by CLIP🚀: Fini et al., "Improved baselines for
vision-language pre-training", TMLR 2023, arXiv:2305.08675.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from cl_core.distributed import gathered_pair
from cl_core.losses._embeddings import prepared_embeddings
from cl_core.losses._reduction import Reduction, reduce_losses
from cl_core.losses.masked_logits import AUTO_TILE_ELEMENTS, masked_logits_loss
from cl_core.validation import (
    check_chunk_size,
    check_positive_float,
    check_reduction,
    check_same_shape,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

#: CLIP clips its learnable logit scale at 100 "to prevent scaling the logits by more than 100".
MAX_LOGIT_SCALE = 100.0

#: CLIP initialises the temperature at 0.07, i.e. the log logit scale at log(1 / 0.07).
INITIAL_LOG_LOGIT_SCALE = math.log(1.0 / 0.07)


def clip_loss(
    image: Tensor,
    text: Tensor,
    logit_scale: float | Tensor,
    *,
    normalize: bool = True,
    label_smoothing: float = 0.0,
    max_logit_scale: float = MAX_LOGIT_SCALE,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
    gather: bool = False,
    group: ProcessGroup | None = None,
) -> Tensor:
    r"""Symmetric CLIP cross-entropy between matched image and text embeddings.

    With :math:`t = \min(\text{logit\_scale}, \text{max\_logit\_scale})` (the multiplier, already
    exponentiated; CLIP clips it at 100) and logits :math:`s_{ij} = t\, x_i^\top y_j` of
    L2-normalised image rows :math:`x` and text rows :math:`y`:

    .. math::

        \ell^{I \to T}_i = \operatorname{LSE}_j s_{ij} - s_{ii}
            + \varepsilon \Big(s_{ii} - \tfrac{1}{B}\textstyle\sum_j s_{ij}\Big), \qquad
        \mathcal{L} = \frac{1}{B} \sum_i \tfrac{1}{2}\big(\ell^{I \to T}_i + \ell^{T \to I}_i\big)

    and :math:`\ell^{T \to I}` the same on :math:`s^\top`. With label smoothing :math:`\varepsilon`
    the target puts :math:`1 - \varepsilon + \varepsilon / B` on the match and
    :math:`\varepsilon / B` on every other column, exactly as in ``F.cross_entropy``'s
    ``label_smoothing``; :math:`\varepsilon = 0` is the plain CLIP loss.

    Args:
        image: Image embeddings, shape (B, D).
        text: Text embeddings, shape (B, D); row i matches image row i.
        logit_scale: The multiplier :math:`t > 0` (a float or a scalar tensor, e.g.
            ``log_scale.exp()``); values above ``max_logit_scale`` are clipped (no gradient there).
        normalize: L2-normalise both modalities first.
        label_smoothing: :math:`\varepsilon \in [0, 1)`.
        max_logit_scale: Upper clip for the scale (CLIP: 100).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (B,) per-pair mean of both
            directions).
        chunk_size: Stream over candidate blocks. Without label smoothing and ``gather``, given
            a ``chunk_size`` or more than ``AUTO_TILE_ELEMENTS`` logits, both directions come from
            one set of block products (:func:`cl_core.losses.tiled.tiled_symmetric_info_nce`);
            otherwise each direction streams on its own (see ``masked_logits_loss``).
        gather: Data-parallel training (open_clip's ``local_loss``): each direction scores the
            local anchors against the other modality gathered from every rank
            (:func:`cl_core.distributed.gathered_pair`), so B is the global batch size. Gradients
            follow ``cl_core.distributed``'s convention: with ``"mean"`` and equal local batches
            each rank's input gradient is world size times the single-process one, which DDP's
            averaging cancels. A no-op when ``torch.distributed`` is not initialised.
        group: Process group for ``gather``; None is the default group.

    Returns:
        A scalar, or the (B,) per-pair losses for ``"none"``.

    Example:
        >>> import torch
        >>> image, text = torch.randn(4, 8), torch.randn(4, 8)
        >>> clip_loss(image, text, logit_scale=1 / 0.07).shape
        torch.Size([])
    """
    images = prepared_embeddings(image, "image", normalize=normalize)
    texts = prepared_embeddings(text, "text", normalize=normalize)
    check_same_shape(images, texts, "image", "text")
    check_positive_float(logit_scale, "logit_scale")
    check_positive_float(max_logit_scale, "max_logit_scale")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing}")
    check_reduction(reduction)
    if isinstance(logit_scale, Tensor):
        scale = logit_scale.reshape(()).clamp(max=max_logit_scale)
    else:
        scale = min(float(logit_scale), max_logit_scale)
    batch = images.shape[0]
    wants_tiling = chunk_size is not None or batch * batch > AUTO_TILE_ELEMENTS
    if label_smoothing == 0.0 and not gather and wants_tiling:
        from cl_core.losses.tiled import tiled_symmetric_info_nce

        return tiled_symmetric_info_nce(
            images, texts, 1.0 / scale, reduction=reduction, chunk_size=chunk_size
        )
    image_to_text = _one_direction(
        images, texts, scale, label_smoothing, chunk_size, gather=gather, group=group
    )
    text_to_image = _one_direction(
        texts, images, scale, label_smoothing, chunk_size, gather=gather, group=group
    )
    return reduce_losses(0.5 * (image_to_text + text_to_image), reduction)


def _one_direction(
    anchors: Tensor,
    candidates: Tensor,
    scale: float | Tensor,
    label_smoothing: float,
    chunk_size: int | None,
    *,
    gather: bool,
    group: ProcessGroup | None,
) -> Tensor:
    """Per-row cross-entropy of anchors over candidates, with the label-smoothing correction."""
    if gather:
        all_candidates, positive_index = gathered_pair(anchors, candidates, group)
    else:
        all_candidates = candidates
        positive_index = torch.arange(anchors.shape[0], device=anchors.device)
    per_row = masked_logits_loss(
        anchors,
        all_candidates,
        temperature=1.0 / scale,
        positive_index=positive_index,
        reduction="none",
        chunk_size=chunk_size,
    )
    if label_smoothing == 0.0:
        return per_row
    matched = (anchors * candidates).sum(dim=1)
    average = anchors @ all_candidates.mean(dim=0)
    return per_row + label_smoothing * scale * (matched - average).to(per_row.dtype)


class CLIPLoss(nn.Module):
    """Module form of :func:`clip_loss` (arXiv:2103.00020) with a learnable log logit scale.

    The parameter ``log_logit_scale`` starts at log(1/0.07) as in CLIP; the loss uses its
    exponential, clipped at ``max_logit_scale``. With ``learnable_scale=False`` it is a buffer.
    ``gather=True`` scores local anchors against the other modality of every rank (see
    :func:`clip_loss`).

    Example:
        >>> import torch
        >>> criterion = CLIPLoss()
        >>> loss = criterion(torch.randn(4, 8), torch.randn(4, 8))
        >>> loss.backward()
    """

    def __init__(
        self,
        *,
        initial_log_logit_scale: float = INITIAL_LOG_LOGIT_SCALE,
        learnable_scale: bool = True,
        normalize: bool = True,
        label_smoothing: float = 0.0,
        max_logit_scale: float = MAX_LOGIT_SCALE,
        reduction: Reduction = "mean",
        chunk_size: int | None = None,
        gather: bool = False,
        group: ProcessGroup | None = None,
    ) -> None:
        super().__init__()
        if not math.isfinite(initial_log_logit_scale):
            raise ValueError(
                f"initial_log_logit_scale must be finite, got {initial_log_logit_scale}"
            )
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing}")
        check_positive_float(max_logit_scale, "max_logit_scale")
        check_reduction(reduction)
        check_chunk_size(chunk_size)
        initial = torch.tensor(float(initial_log_logit_scale))
        if learnable_scale:
            self.log_logit_scale = nn.Parameter(initial)
        else:
            self.register_buffer("log_logit_scale", initial)
        self.normalize = normalize
        self.label_smoothing = label_smoothing
        self.max_logit_scale = max_logit_scale
        self.reduction = reduction
        self.chunk_size = chunk_size
        self.gather = gather
        self.group = group

    def forward(self, image: Tensor, text: Tensor) -> Tensor:
        """Return :func:`clip_loss` of image and text embeddings, each (B, D)."""
        return clip_loss(
            image,
            text,
            self.log_logit_scale.exp(),
            normalize=self.normalize,
            label_smoothing=self.label_smoothing,
            max_logit_scale=self.max_logit_scale,
            reduction=self.reduction,
            chunk_size=self.chunk_size,
            gather=self.gather,
            group=self.group,
        )
