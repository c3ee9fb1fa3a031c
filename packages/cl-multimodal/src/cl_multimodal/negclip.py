r"""NegCLIP: the CLIP loss with composition-aware hard-negative captions.

Yuksekgonul, Bianchi, Kalluri, Jurafsky, Zou, "When and Why Vision-Language Models Behave like
Bags-of-Words, and What to Do About It?", ICLR 2023, arXiv:2210.01936.

Each image :math:`x_i` of a batch of B gets its caption :math:`y_i` and a hard-negative caption
:math:`\tilde y_i` (its words re-ordered or its attributes swapped). With :math:`t` the logit scale
and unit-norm embeddings, the text candidates are :math:`[y_1..y_B, \tilde y_1..\tilde y_B]`:

.. math::

    \mathcal{L} = \tfrac12 \Big[ \tfrac1B \sum_i -\log
        \frac{e^{t x_i^\top y_i}}{\sum_{j=1}^{B} e^{t x_i^\top y_j} + e^{t x_i^\top \tilde y_j}}
      + \tfrac1B \sum_i -\log \frac{e^{t y_i^\top x_i}}{\sum_{j=1}^{B} e^{t y_i^\top x_j}} \Big]

i.e. the hard captions enter only the image-to-text direction (the authors' open_clip loss:
``logits_per_image`` is B x 2B, ``logits_per_text`` keeps its first B rows). The paper also adds
hard-negative *images*; here every batch is random, so that part is left out.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from cl_core.losses import masked_logits_loss

CITATION = (
    "Yuksekgonul, Bianchi, Kalluri, Jurafsky, Zou, When and Why Vision-Language Models Behave "
    "like Bags-of-Words, and What to Do About It?, ICLR 2023, arXiv:2210.01936"
)


def negclip_loss(
    image: Tensor,
    text: Tensor,
    hard_text: Tensor,
    logit_scale: float | Tensor,
    *,
    normalize: bool = True,
) -> Tensor:
    """NegCLIP loss of matched image/text rows plus one hard-negative caption per image.

    Args:
        image: image embeddings (B, D).
        text: caption embeddings (B, D); row i matches image row i.
        hard_text: hard-negative caption embeddings (H, D), H >= 0 (usually B); they are
            negatives of every image in the image-to-text direction.
        logit_scale: the multiplier t > 0 (e.g. ``log_scale.exp()``).
        normalize: L2-normalise all embeddings first.

    Returns:
        Scalar loss.

    Example:
        >>> image, text, hard = torch.randn(3, 4, 8).unbind(0)
        >>> negclip_loss(image, text, hard, logit_scale=10.0).shape
        torch.Size([])
    """
    for name, value in (("image", image), ("text", text), ("hard_text", hard_text)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.ndim != 2:
            raise ValueError(f"{name} must be a 2-D tensor (rows, D), got {tuple(value.shape)}")
    if image.shape != text.shape:
        raise ValueError(
            "image and text must have the same shape (B, D), got "
            f"{tuple(image.shape)} and {tuple(text.shape)}"
        )
    if hard_text.shape[1] != image.shape[1]:
        raise ValueError(f"hard_text must have width D={image.shape[1]}, got {hard_text.shape[1]}")
    if image.shape[0] < 2:
        raise ValueError(f"image needs B >= 2 rows, got {image.shape[0]}")
    scale = logit_scale if isinstance(logit_scale, Tensor) else torch.tensor(float(logit_scale))
    if not bool((scale > 0).all()):
        raise ValueError(f"logit_scale must be > 0, got {logit_scale}")
    if normalize:
        image, text, hard_text = (
            nn.functional.normalize(x, dim=-1) for x in (image, text, hard_text)
        )
    targets = torch.arange(image.shape[0], device=image.device)
    temperature = 1.0 / scale
    image_to_text = masked_logits_loss(
        image, torch.cat([text, hard_text]), temperature=temperature, positive_index=targets
    )
    text_to_image = masked_logits_loss(text, image, temperature=temperature, positive_index=targets)
    return 0.5 * (image_to_text + text_to_image)


class NegCLIPLoss(nn.Module):
    """:func:`negclip_loss` with a learnable log logit scale (initialised at log(1/0.07)).

    Example:
        >>> loss = NegCLIPLoss()
        >>> loss(*torch.randn(3, 4, 8).unbind(0)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(self, initial_log_logit_scale: float = math.log(1 / 0.07)) -> None:
        super().__init__()
        self.log_logit_scale = nn.Parameter(torch.tensor(float(initial_log_logit_scale)))

    def forward(self, image: Tensor, text: Tensor, hard_text: Tensor) -> Tensor:
        return negclip_loss(image, text, hard_text, self.log_logit_scale.exp().clamp(max=100.0))
