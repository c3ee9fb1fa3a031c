"""Hydra / SimLAP: contrastive learning from arbitrary class pairs through a class-pair gate.

Reference:
    Wu, Atito, Feng, Mo, Kittler, Awais. "Rethinking Positive Pairs in Contrastive Learning"
    (method first called Hydra, renamed SimLAP in v2), 2024, arXiv:2410.18200. Author toolkit:
    ``erow/FastSSL`` (``model/simlap.py``: ``multipos_ce_loss``, ``BasicGate``, ``SimLAP``).

An anchor view ``z1_i`` of class ``y1_i`` is paired with a partner class ``y2_i`` (the same class,
a different class or a permuted batch label). A gate ``g_i = g(y1_i, y2_i) ∈ (0, 1)^d`` selects the
sub-space in which the two classes should agree, and is applied twice on the anchor side::

    l_ij = s · ⟨ẑ1_i ⊙ g_i ⊙ g_i, ẑ2_j⟩                 (ẑ = L2-normalised, s = 1/τ)
    P_ij = [c_j = y2_i]                                   positives: second views of class y2_i
    E_ij = [c_j = y1_i] ∨ [c_j = y2_i]                    both classes leave the negatives
    L    = Σ_ij P_ij [log(e^{l_ij} + Σ_k (1 - E_ik) e^{l_ik}) - l_ij] / Σ_ij P_ij

``c_j`` is the label of candidate j (the anchors' labels when the candidates are the batch's
second views). Each positive is scored against itself plus the other-class negatives only, and
the loss averages over all positive pairs. The author code centres every row of logits by its
detached mean first; that leaves the loss unchanged and is not needed with log-sum-exp.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.heads import ClassPairGate
from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import (
    check_choice,
    check_embeddings,
    check_labels,
    check_positive_float,
    check_same_shape,
    check_same_width,
    check_temperature,
    check_tensor_dim,
)

__all__ = ["HydraLoss", "PairingMode", "hydra_multipos_ce", "sample_partner_labels"]

PairingMode = Literal["arbitrary", "identical", "distinct"]

CITATION = (
    "Wu, Atito, Feng, Mo, Kittler, Awais, Rethinking Positive Pairs in Contrastive Learning, "
    "2024, arXiv:2410.18200"
)


def hydra_multipos_ce(
    z1: Tensor,
    z2: Tensor,
    y1: Tensor,
    y2: Tensor,
    *,
    gate: Tensor | None = None,
    candidate_labels: Tensor | None = None,
    logit_scale: float | Tensor = 10.0,
) -> Tensor:
    """Gated multi-positive cross-entropy of Hydra / SimLAP (arXiv:2410.18200).

    Args:
        z1: anchor embeddings (first views).
        z2: candidate embeddings (second views, possibly gathered from every process).
        y1: anchor classes.
        y2: partner classes; the positives of anchor i are the candidates of class ``y2[i]``.
        gate: gate values in [0, 1] applied twice to the anchor (``None`` means g ≡ 1).
        candidate_labels: class of every candidate; defaults to ``y1`` (then M must equal B).
        logit_scale: s = 1/τ > 0, a float or a scalar tensor (e.g. ``exp`` of a learned
            parameter; the paper initialises it to 1/0.1).

    Returns:
        Scalar loss: the mean over all positive pairs.

    Shapes:
        z1: (B, D); z2: (M, D); y1, y2: (B,); gate: (B, D); candidate_labels: (M,).

    Raises:
        ValueError: on shape mismatches, non-finite inputs, ``logit_scale <= 0``, or an anchor
            whose partner class has no candidate.

    Example:
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> y1 = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
        >>> hydra_multipos_ce(z1, z2, y1, y1[torch.randperm(8)]).shape
        torch.Size([])
    """
    check_embeddings(z1, "z1", "(B, D)")
    check_embeddings(z2, "z2", "(M, D)")
    check_same_width(z1, z2, "z1", "z2")
    batch = z1.shape[0]
    check_labels(y1, batch, "y1")
    check_labels(y2, batch, "y2")
    if candidate_labels is None:
        if z2.shape[0] != batch:
            raise ValueError(
                f"candidate_labels is required when z2 has M={z2.shape[0]} rows != B={batch}"
            )
        candidate_labels = y1
    check_labels(candidate_labels, z2.shape[0], "candidate_labels")
    check_positive_float(logit_scale, "logit_scale")

    anchors = F.normalize(z1, dim=-1)
    if gate is not None:
        check_embeddings(gate, "gate", "(B, D)")
        check_same_shape(z1, gate, "z1", "gate")
        anchors = anchors * gate * gate

    positive_mask = y2.unsqueeze(1) == candidate_labels.unsqueeze(0)
    positives_per_anchor = positive_mask.sum(1)
    if bool((positives_per_anchor == 0).any()):
        missing = y2[positives_per_anchor == 0].unique().tolist()
        raise ValueError(f"y2 holds classes with no candidate in candidate_labels: {missing}")
    same_as_anchor = y1.unsqueeze(1) == candidate_labels.unsqueeze(0)
    per_anchor = masked_logits_loss(
        anchors,
        F.normalize(z2, dim=-1),
        temperature=1.0 / logit_scale,
        positive_mask=positive_mask,
        negative_mask=~(positive_mask | same_as_anchor),
        positives_in_denominator="self",
        reduction="none",
    )
    weights = positives_per_anchor.to(per_anchor.dtype)
    return (per_anchor * weights).sum() / weights.sum()


def sample_partner_labels(
    labels: Tensor,
    mode: PairingMode = "arbitrary",
    *,
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw the partner class ``y2`` of every anchor.

    Args:
        labels: anchor classes y1, shape (B,).
        mode: ``"identical"`` (y2 = y1), ``"distinct"`` (a uniformly random other class; needs
            ``num_classes``) or ``"arbitrary"`` (a random permutation of the batch labels, the
            paper's setting).
        num_classes: number of classes (``"distinct"`` only), >= 2.
        generator: source of randomness.

    Returns:
        y2 with the shape and dtype of ``labels``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y2 = sample_partner_labels(torch.tensor([0, 1, 2, 3]), "distinct", num_classes=4,
        ...                            generator=g)
        >>> bool((y2 != torch.tensor([0, 1, 2, 3])).all())
        True
    """
    check_tensor_dim(labels, 1, "labels", "(B,)")
    check_choice(mode, ("arbitrary", "identical", "distinct"), "mode")
    if mode == "identical":
        return labels.clone()
    if mode == "arbitrary":
        order = torch.randperm(labels.shape[0], generator=generator).to(labels.device)
        return labels[order]
    if num_classes is None or num_classes < 2:
        raise ValueError(f"mode='distinct' needs num_classes >= 2, got {num_classes!r}")
    offsets = torch.randint(1, num_classes, labels.shape, generator=generator)
    return (labels + offsets.to(labels.device)) % num_classes


class HydraLoss(nn.Module):
    """Hydra / SimLAP loss with its class-pair gate and learned logit scale.

    Holds a :class:`cl_core.heads.ClassPairGate` and ``log s`` (initialised to ``log(1/τ)``),
    draws partner classes with :func:`sample_partner_labels` and calls
    :func:`hydra_multipos_ce`.

    Args:
        num_classes: number of classes.
        dim: embedding (gate) width.
        temperature: initial τ, > 0 (paper: 0.1).
        mode: pairing mode (paper: ``"arbitrary"``).
        learn_scale: train ``log s``.
        embed_dim: gate label-embedding width (paper: 512).
        hidden_dim: gate MLP hidden width (paper: 1024).

    Shapes:
        ``forward(z1 (B, D), z2 (B, D), labels (B,)) -> scalar``.

    Example:
        >>> loss = HydraLoss(num_classes=4, dim=16)
        >>> labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
        >>> loss(torch.randn(8, 16), torch.randn(8, 16), labels).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self,
        num_classes: int,
        dim: int,
        *,
        temperature: float = 0.1,
        mode: PairingMode = "arbitrary",
        learn_scale: bool = True,
        embed_dim: int = 512,
        hidden_dim: int = 1024,
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        check_choice(mode, ("arbitrary", "identical", "distinct"), "mode")
        self.num_classes = num_classes
        self.mode: PairingMode = mode
        self.gate = ClassPairGate(num_classes, dim, embed_dim=embed_dim, hidden_dim=hidden_dim)
        self.log_scale = nn.Parameter(
            torch.tensor(-math.log(temperature)), requires_grad=learn_scale
        )

    def forward(
        self,
        z1: Tensor,
        z2: Tensor,
        labels: Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        partner = sample_partner_labels(
            labels, self.mode, num_classes=self.num_classes, generator=generator
        )
        return hydra_multipos_ce(
            z1,
            z2,
            labels,
            partner,
            gate=self.gate(labels, partner),
            logit_scale=self.log_scale.exp(),
        )
