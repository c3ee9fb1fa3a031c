"""CL2L and the SiamLIP add-on of the "improved baselines" CLIP recipe.

Fini et al., "Improved baselines for vision-language pre-training", TMLR 2023, arXiv:2305.08675
(code: facebookresearch/clip-rocket).

**CL2L** adds *local* cross-modal contrastive terms between augmented views, computed through
separate projectors, to the *global* CLIP loss. With ``n_aug`` augmented (image, text) view pairs,
global embeddings :math:`(x, y)` and local embeddings :math:`(x^{(k)}, y^{(k)})`:

.. math::

    \\mathcal{L}_{img} = \\frac{\\ell^{I\\to T}(x, y) + \\sum_k \\ell^{I\\to T}_{\\varepsilon}
        (x^{(k)}, y^{(k)})}{1 + n_{aug}}, \\quad
    \\mathcal{L}_{txt} = \\text{the same with } T \\to I, \\quad
    \\mathcal{L}_{CL2L} = \\tfrac{1}{2}(\\mathcal{L}_{img} + \\mathcal{L}_{txt}),

where :math:`\\ell` is CLIP's cross-entropy at logit scale :math:`t` and the local terms use label
smoothing :math:`\\varepsilon` (0.1 in the paper). Since the CLIP loss already averages both
directions, :math:`\\mathcal{L}_{CL2L} = (\\mathcal{L}_{CLIP}(x, y) + \\sum_k
\\mathcal{L}^{\\varepsilon}_{CLIP}(x^{(k)}, y^{(k)})) / (1 + n_{aug})`; with ``n_aug = 0`` it is
CLIP. Our reading of "local" (methods.md): local view *k* of the image is contrasted with local
view *k* of its caption, both through the local projectors.

**SiamLIP** (non-contrastive, added to CL2L): SimSiam's negative cosine with stop-gradient, across
modalities. Predictors :math:`q_I, q_T` map one modality's embedding towards the other's:

.. math::

    \\mathcal{L}_{Siam} = -\\tfrac{1}{2B}\\sum_i \\big[\\cos(q_I(x_i), \\mathrm{sg}(y_i))
        + \\cos(q_T(y_i), \\mathrm{sg}(x_i))\\big].

Example:
    >>> import torch
    >>> x, y = torch.randn(4, 8), torch.randn(4, 8)
    >>> no_views = torch.empty(0, 4, 8)
    >>> cl2l_loss(x, y, no_views, no_views, logit_scale=10.0).shape
    torch.Size([])
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.heads import ProjectionMLP
from cl_core.losses import clip_loss


def _check_pair(image: Tensor, text: Tensor, ndim: int, names: tuple[str, str]) -> None:
    for value, name in zip((image, text), names, strict=True):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.ndim != ndim:
            shape = "(B, D)" if ndim == 2 else "(n_aug, B, D)"
            raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    if image.shape != text.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {tuple(image.shape)} "
            f"and {tuple(text.shape)}"
        )


def cl2l_loss(
    image: Tensor,
    text: Tensor,
    image_local: Tensor,
    text_local: Tensor,
    logit_scale: float | Tensor,
    *,
    label_smoothing: float = 0.0,
    local_label_smoothing: float = 0.1,
    gather: bool = False,
) -> Tensor:
    """The CL2L loss: global CLIP plus local CLIP terms of augmented views (see module docstring).

    Args:
        image: global image embeddings, shape (B, D).
        text: global text embeddings, shape (B, D); row i matches image row i.
        image_local: local-projector embeddings of the augmented images, shape (n_aug, B, D).
        text_local: local-projector embeddings of the augmented captions, shape (n_aug, B, D);
            ``text_local[k, i]`` matches ``image_local[k, i]``. ``n_aug`` may be 0.
        logit_scale: CLIP's multiplier t > 0 (shared by global and local terms).
        label_smoothing: smoothing of the global term, in [0, 1).
        local_label_smoothing: smoothing of the local terms, in [0, 1) (paper: 0.1).
        gather: data-parallel training: every CLIP term scores the local rows against the other
            modality of every process (:func:`cl_core.losses.clip_loss`).

    Returns:
        A scalar.
    """
    _check_pair(image, text, 2, ("image", "text"))
    _check_pair(image_local, text_local, 3, ("image_local", "text_local"))
    if image_local.shape[1:] != image.shape:
        raise ValueError(
            f"image_local must have shape (n_aug, {image.shape[0]}, {image.shape[1]}), "
            f"got {tuple(image_local.shape)}"
        )
    for value, name in (
        (label_smoothing, "label_smoothing"),
        (local_label_smoothing, "local_label_smoothing"),
    ):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {value}")
    total = clip_loss(image, text, logit_scale, label_smoothing=label_smoothing, gather=gather)
    for local_image, local_text in zip(image_local, text_local, strict=True):
        total = total + clip_loss(
            local_image,
            local_text,
            logit_scale,
            label_smoothing=local_label_smoothing,
            gather=gather,
        )
    return total / (1 + image_local.shape[0])


def siamlip_loss(
    image_prediction: Tensor, text_prediction: Tensor, image_target: Tensor, text_target: Tensor
) -> Tensor:
    """SiamLIP: symmetric negative cosine between each modality's prediction and the other's
    stop-gradient embedding (see module docstring).

    Args:
        image_prediction: q_I(x), the image branch's prediction of the text embedding, (B, D).
        text_prediction: q_T(y), the text branch's prediction of the image embedding, (B, D).
        image_target: x, image embeddings (gradient stopped here), (B, D).
        text_target: y, text embeddings (gradient stopped here), (B, D).

    Returns:
        A scalar in [-1, 1].
    """
    _check_pair(image_prediction, text_prediction, 2, ("image_prediction", "text_prediction"))
    _check_pair(image_target, text_target, 2, ("image_target", "text_target"))
    if image_prediction.shape != image_target.shape:
        raise ValueError(
            f"predictions and targets must have the same shape, got "
            f"{tuple(image_prediction.shape)} and {tuple(image_target.shape)}"
        )
    image_side = F.cosine_similarity(image_prediction, text_target.detach(), dim=-1)
    text_side = F.cosine_similarity(text_prediction, image_target.detach(), dim=-1)
    return -0.5 * (image_side.mean() + text_side.mean())


class CL2LLoss(nn.Module):
    """:func:`cl2l_loss` with separate local projectors for images and texts.

    Args:
        dim: embedding width D (tower output).
        label_smoothing: smoothing of the global term.
        local_label_smoothing: smoothing of the local terms (paper: 0.1).

    Shapes:
        image, text (B, D); image_views, text_views (n_aug, B, D) raw tower outputs of the
        augmented views (the module projects them) -> scalar.

    Example:
        >>> loss = CL2LLoss(8)
        >>> loss(torch.randn(4, 8), torch.randn(4, 8), torch.randn(2, 4, 8), torch.randn(2, 4, 8),
        ...      logit_scale=10.0).shape
        torch.Size([])
    """

    def __init__(
        self, dim: int, *, label_smoothing: float = 0.0, local_label_smoothing: float = 0.1
    ) -> None:
        super().__init__()
        self.image_projector = ProjectionMLP(dim, dim, num_layers=2, norm="none")
        self.text_projector = ProjectionMLP(dim, dim, num_layers=2, norm="none")
        self.label_smoothing = label_smoothing
        self.local_label_smoothing = local_label_smoothing

    def forward(
        self,
        image: Tensor,
        text: Tensor,
        image_views: Tensor,
        text_views: Tensor,
        logit_scale: float | Tensor,
        *,
        gather: bool = False,
    ) -> Tensor:
        _check_pair(image_views, text_views, 3, ("image_views", "text_views"))
        return cl2l_loss(
            image,
            text,
            self.image_projector(image_views.flatten(0, 1)).view_as(image_views),
            self.text_projector(text_views.flatten(0, 1)).view_as(text_views),
            logit_scale,
            label_smoothing=self.label_smoothing,
            local_label_smoothing=self.local_label_smoothing,
            gather=gather,
        )


class SiamLIPLoss(nn.Module):
    """:func:`siamlip_loss` with its two predictor MLPs (SimSiam-style bottleneck of width D/2).

    Example:
        >>> SiamLIPLoss(8)(torch.randn(4, 8), torch.randn(4, 8)).shape
        torch.Size([])
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        hidden = max(1, dim // 2)
        self.image_predictor = ProjectionMLP(dim, dim, hidden_dim=hidden, norm="none")
        self.text_predictor = ProjectionMLP(dim, dim, hidden_dim=hidden, norm="none")

    def forward(self, image: Tensor, text: Tensor) -> Tensor:
        _check_pair(image, text, 2, ("image", "text"))
        return siamlip_loss(self.image_predictor(image), self.text_predictor(text), image, text)
