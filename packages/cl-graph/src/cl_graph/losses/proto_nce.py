"""ProtoNCE: contrast each embedding with the k-means prototypes of several clusterings.

Li et al., "Prototypical Contrastive Learning of Unsupervised Representations", ICLR 2021,
arXiv:2005.04966; used by MEOW as :math:`\\mathcal{L}_{proto}`. For runs :math:`k = 1..K` with
normalised centroids :math:`\\mu^k_c`, concentrations :math:`\\phi^k_c` and assignment
:math:`s = \\kappa_k(i)`,

.. math::

    \\mathcal{L}_{proto} = -\\frac{1}{K N}\\sum_{k,i} \\log
        \\frac{\\exp(z_i \\cdot \\mu^k_{s} / \\phi^k_{s})}
             {\\sum_{c} \\exp(z_i \\cdot \\mu^k_c / \\phi^k_c)}.

Each run is the kernel's :func:`cl_core.losses.masked_logits_loss` with candidates
:math:`\\mu_c / \\phi_c` and temperature 1 (a per-prototype temperature).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_core.losses import masked_logits_loss


def proto_nce(
    embeddings: Tensor,
    centroids: Sequence[Tensor],
    concentrations: Sequence[Tensor],
    assignments: Tensor,
) -> Tensor:
    """ProtoNCE averaged over clustering runs (formula in the module docstring).

    Args:
        embeddings: (N, D) embeddings (normalised here).
        centroids: K tensors of shape (C_k, D), the prototypes of each run (normalised here).
        concentrations: K tensors of shape (C_k,), :math:`\\phi > 0` per prototype.
        assignments: (K, N) prototype id of each node in each run.

    Returns:
        Scalar loss.

    Example:
        >>> z = torch.randn(6, 4)
        >>> mu = [torch.randn(2, 4)]
        >>> phi = [torch.tensor([0.5, 0.3])]
        >>> proto_nce(z, mu, phi, torch.tensor([[0, 0, 1, 1, 0, 1]])).shape
        torch.Size([])
    """
    if len(centroids) != len(concentrations) or len(centroids) != assignments.shape[0]:
        raise ValueError(
            "centroids, concentrations and assignments must describe the same number of runs, got "
            f"{len(centroids)}, {len(concentrations)} and {assignments.shape[0]}"
        )
    if len(centroids) == 0:
        raise ValueError("proto_nce needs at least one clustering run, got none")
    normalized = F.normalize(embeddings, dim=-1)
    losses = []
    for prototypes, phi, assignment in zip(centroids, concentrations, assignments, strict=True):
        if phi.shape != (prototypes.shape[0],) or not bool((phi > 0).all()):
            raise ValueError(
                f"concentrations must be positive with shape ({prototypes.shape[0]},), got "
                f"{tuple(phi.shape)}"
            )
        scaled = F.normalize(prototypes, dim=-1) / phi.unsqueeze(1)
        losses.append(
            masked_logits_loss(
                normalized, scaled.to(normalized.dtype), temperature=1.0, positive_index=assignment
            )
        )
    return torch.stack(losses).mean()
