r"""M3CoL: multimodal classification with fusion + unimodal heads and a mixup contrastive term.

Kumar, Singhal et al., M3CoL (multimodal mixup contrastive learning), TMLR, arXiv:2409.17777
(author code ``RaghavSinghal10/M3CoL``).

Two encoders give embeddings :math:`a, b` of the two modalities; a fusion head classifies
:math:`[a; b]` and one head per modality classifies each alone. With the kernel's M3Co loss
(:func:`cl_core.losses.m3co`; Beta(0.15, 0.15) mixup of one modality contrasted with the other,
soft targets) for the first ``mixup_fraction`` of training and SoftCLIP
(:func:`cl_core.losses.soft_clip`) afterwards:

.. math::

    \mathcal{L} = \mathrm{CE}_{fusion} + \mathrm{CE}_a + \mathrm{CE}_b
        + \lambda \, \begin{cases} m3co(a, b) + m3co(b, a) & \text{epoch} < p E \\
                                   \mathrm{SoftCLIP}(a, b) & \text{otherwise} \end{cases}

with :math:`\lambda = 0.1`, :math:`p = 1/3` (the paper's defaults).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cl_core.losses import clip_loss, m3co, soft_clip

CONTRASTIVE_TERMS = ("m3co", "clip", "none")


class FusionClassifier(nn.Module):
    """Two MLP encoders, a fusion head on the concatenation and one head per modality.

    Example:
        >>> model = FusionClassifier(5, 7, classes=3)
        >>> fusion, head_a, head_b, a, b = model(torch.randn(4, 5), torch.randn(4, 7))
        >>> fusion.shape, a.shape
        (torch.Size([4, 3]), torch.Size([4, 32]))
    """

    def __init__(self, dim_a: int, dim_b: int, classes: int, embed_dim: int = 32) -> None:
        super().__init__()
        if min(dim_a, dim_b, embed_dim) < 1 or classes < 2:
            raise ValueError(f"dims must be >= 1 and classes >= 2, got {dim_a}, {dim_b}, {classes}")
        self.encoder_a = nn.Sequential(nn.Linear(dim_a, 64), nn.ReLU(), nn.Linear(64, embed_dim))
        self.encoder_b = nn.Sequential(nn.Linear(dim_b, 64), nn.ReLU(), nn.Linear(64, embed_dim))
        self.head_a = nn.Linear(embed_dim, classes)
        self.head_b = nn.Linear(embed_dim, classes)
        self.fusion = nn.Linear(2 * embed_dim, classes)

    def forward(self, x_a: Tensor, x_b: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """(fusion logits, modality-a logits, modality-b logits, a, b)."""
        a, b = self.encoder_a(x_a), self.encoder_b(x_b)
        return self.fusion(torch.cat([a, b], dim=1)), self.head_a(a), self.head_b(b), a, b


def m3col_loss(
    model: FusionClassifier,
    x_a: Tensor,
    x_b: Tensor,
    labels: Tensor,
    *,
    contrastive: str = "m3co",
    mixup_phase: bool = True,
    weight: float = 0.1,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The M3CoL training loss of one batch (see the module formula).

    Args:
        model: the fusion classifier.
        x_a, x_b: the two modalities' inputs (N, d_a), (N, d_b).
        labels: (N,) class indices.
        contrastive: ``"m3co"`` (M3CoL: M3Co then SoftCLIP), ``"clip"`` (CLIP loss at
            temperature 0.1 throughout) or ``"none"`` (heads only).
        mixup_phase: use M3Co (True) or SoftCLIP (False) for ``"m3co"``.
        weight: λ.
        generator: mixup randomness.
    """
    if contrastive not in CONTRASTIVE_TERMS:
        raise ValueError(f"contrastive must be one of {CONTRASTIVE_TERMS}, got {contrastive!r}")
    fusion, head_a, head_b, a, b = model(x_a, x_b)
    ce = nn.functional.cross_entropy
    loss = ce(fusion, labels) + ce(head_a, labels) + ce(head_b, labels)
    if contrastive == "m3co":
        if mixup_phase:
            term = m3co(a, b, generator=generator) + m3co(b, a, generator=generator)
        else:
            term = soft_clip(a, b)
        loss = loss + weight * term
    elif contrastive == "clip":
        loss = loss + weight * clip_loss(a, b, 10.0)
    return loss
