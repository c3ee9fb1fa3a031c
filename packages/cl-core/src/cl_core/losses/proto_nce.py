r"""ProtoNCE: contrast each embedding with the cluster prototypes of several clusterings.

Li, Zhou, Xiong, Hoi, "Prototypical Contrastive Learning of Unsupervised Representations" (PCL),
ICLR 2021, arXiv:2005.04966. Given :math:`M` clusterings of the data (e.g. k-means with different
numbers of clusters), run :math:`m` has prototypes :math:`c^m_1..c^m_{C_m}` (L2-normalised cluster
centroids) with concentrations :math:`\phi^m_k`, and :math:`s = s^m(i)` is the cluster of sample
:math:`i`. The prototypical term of PCL's ProtoNCE, with every prototype as a negative, is

.. math::

    \mathcal{L}_{proto} = -\frac{1}{M N}\sum_{m=1}^{M}\sum_{i=1}^{N} \log
        \frac{\exp(v_i \cdot c^m_{s} / \phi^m_{s})}
             {\sum_{k=1}^{C_m} \exp(v_i \cdot c^m_k / \phi^m_k)}

for L2-normalised embeddings :math:`v_i`. The concentration of cluster :math:`k` with members
:math:`Z_k` and (unnormalised) centroid :math:`\mu_k` is

.. math::

    \phi_k = \frac{\sum_{z \in Z_k} \lVert z - \mu_k \rVert_2}{|Z_k| \log(|Z_k| + \alpha)},

so a loose cluster gets a high temperature and a tight one a low temperature. As in the authors'
code, a single-member cluster takes the largest :math:`\phi` of the run, values are clipped to
their 10th-90th percentile and then scaled to mean :math:`\tau`.

PCL samples :math:`r` negative prototypes and adds the instance-wise InfoNCE term; here every
prototype is a negative (as MEOW, Yu & Li, SDM 2023, arXiv:2212.13847, uses it) and the instance
term is left to the caller. Each run is one call of :func:`cl_core.losses.masked_logits_loss`
with candidates :math:`c_k / \phi_k` and temperature 1 (a per-prototype temperature).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import (
    check_embeddings,
    check_positive_float,
    check_tensor_dim,
)


@dataclass(frozen=True)
class ClusterPrototypes:
    """The prototypes of one clustering, from :func:`cluster_prototypes`.

    Attributes:
        centroids: (C, D) L2-normalised cluster means :math:`c_k`.
        concentrations: (C,) positive :math:`\\phi_k`, with mean :math:`\\tau`.
    """

    centroids: Tensor
    concentrations: Tensor


def cluster_prototypes(
    embeddings: Tensor,
    assignments: Tensor,
    *,
    temperature: float,
    alpha: float = 10.0,
) -> ClusterPrototypes:
    r"""Prototypes and PCL concentrations of one clustering (formula in the module docstring).

    Computed without gradient: prototypes are targets, as in PCL's E-step.

    Args:
        embeddings: (N, D) features that were clustered (detached here).
        assignments: (N,) integer cluster ids in [0, C); every id in [0, C) must have a member,
            where C = ``assignments.max() + 1`` (k-means never leaves a cluster empty).
        temperature: the mean :math:`\tau > 0` the concentrations are scaled to.
        alpha: smoothing :math:`\alpha > 0` (10 in PCL) that keeps small clusters from getting
            a tiny :math:`\phi`.

    Returns:
        :class:`ClusterPrototypes` on the device and in the dtype of ``embeddings``.

    Example:
        >>> z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> protos = cluster_prototypes(z, torch.tensor([0, 0, 1, 1]), temperature=0.5)
        >>> protos.centroids.shape, round(float(protos.concentrations.mean()), 4)
        (torch.Size([2, 2]), 0.5)
    """
    check_embeddings(embeddings, "embeddings")
    _check_assignment_row(assignments, embeddings.shape[0], "assignments")
    check_positive_float(temperature, "temperature")
    check_positive_float(alpha, "alpha")
    points = embeddings.detach()
    index = assignments.to(device=points.device, dtype=torch.long)
    count = int(index.max()) + 1
    sizes = torch.bincount(index, minlength=count)
    if bool((sizes == 0).any()):
        empty = torch.nonzero(sizes == 0).flatten()[:5].tolist()
        raise ValueError(
            f"assignments must give every cluster id in [0, {count}) a member, got empty "
            f"clusters {empty}"
        )
    sums = torch.zeros(count, points.shape[1], dtype=points.dtype, device=points.device)
    means = sums.index_add_(0, index, points) / sizes.unsqueeze(1).to(points.dtype)
    distances = (points - means[index]).norm(dim=1)
    spread = torch.zeros(count, dtype=points.dtype, device=points.device)
    spread.index_add_(0, index, distances)
    return ClusterPrototypes(
        centroids=F.normalize(means, dim=1),
        concentrations=_scaled_concentrations(spread, sizes, temperature, alpha),
    )


def _scaled_concentrations(
    spread: Tensor, sizes: Tensor, temperature: float, alpha: float
) -> Tensor:
    """:math:`\\phi` per cluster from summed member distances, clipped and scaled to mean tau."""
    multi = sizes > 1
    phi = torch.zeros_like(spread)
    counts = sizes[multi].to(spread.dtype)
    phi[multi] = spread[multi] / (counts * torch.log(counts + alpha))
    largest = phi[multi].max() if bool(multi.any()) else spread.new_tensor(0.0)
    phi[~multi] = largest
    low, high = torch.quantile(phi, torch.tensor([0.1, 0.9], dtype=phi.dtype, device=phi.device))
    phi = phi.clamp(low, high)
    if not bool((phi > 0).any()):
        return torch.full_like(phi, float(temperature))
    phi = torch.where(phi > 0, phi, phi[phi > 0].min())
    return float(temperature) * phi / phi.mean()


def proto_nce(
    embeddings: Tensor,
    centroids: Sequence[Tensor],
    concentrations: Sequence[Tensor],
    assignments: Tensor,
    *,
    normalize: bool = True,
) -> Tensor:
    r"""ProtoNCE's prototypical term averaged over M clusterings (formula in the module docstring).

    Args:
        embeddings: (N, D) embeddings :math:`v`.
        centroids: M tensors of shape (C_m, D), the prototypes of each run (normalised here).
        concentrations: M tensors of shape (C_m,) with :math:`\phi > 0` per prototype.
        assignments: (M, N) integer prototype id of every sample in every run.
        normalize: L2-normalise ``embeddings`` first.

    Returns:
        Scalar loss, the mean over runs and samples.

    Example:
        >>> z = torch.randn(6, 4)
        >>> mu = [torch.randn(2, 4)]
        >>> phi = [torch.tensor([0.5, 0.3])]
        >>> proto_nce(z, mu, phi, torch.tensor([[0, 0, 1, 1, 0, 1]])).shape
        torch.Size([])
    """
    check_embeddings(embeddings, "embeddings")
    check_tensor_dim(assignments, 2, "assignments", "(M, N)")
    runs = assignments.shape[0]
    if runs == 0:
        raise ValueError("assignments must hold at least one clustering run, got shape (0, N)")
    if len(centroids) != runs or len(concentrations) != runs:
        raise ValueError(
            "centroids, concentrations and assignments must describe the same number of runs, got "
            f"{len(centroids)}, {len(concentrations)} and {runs}"
        )
    num_samples, width = embeddings.shape
    features = F.normalize(embeddings, dim=-1) if normalize else embeddings
    losses = []
    for run, (prototypes, phi, assignment) in enumerate(
        zip(centroids, concentrations, assignments, strict=True)
    ):
        check_embeddings(prototypes, f"centroids[{run}]", "(C, D)")
        if prototypes.shape[1] != width:
            raise ValueError(
                f"centroids[{run}] must have width D={width}, got shape {tuple(prototypes.shape)}"
            )
        count = prototypes.shape[0]
        check_tensor_dim(phi, 1, f"concentrations[{run}]", f"({count},)")
        if phi.shape[0] != count or not bool((phi > 0).all()) or not bool(phi.isfinite().all()):
            raise ValueError(
                f"concentrations[{run}] must be finite, positive and of shape ({count},), got "
                f"shape {tuple(phi.shape)} with minimum {float(phi.min()) if phi.numel() else None}"
            )
        _check_assignment_row(assignment, num_samples, f"assignments[{run}]", upper=count)
        scaled = F.normalize(prototypes, dim=-1) / phi.unsqueeze(1)
        losses.append(
            masked_logits_loss(
                features,
                scaled.to(features.dtype),
                temperature=1.0,
                positive_index=assignment.to(device=features.device, dtype=torch.long),
            )
        )
    return torch.stack(losses).mean()


def _check_assignment_row(
    assignment: Tensor, length: int, name: str, upper: int | None = None
) -> None:
    """Raise unless ``assignment`` is a (length,) integer tensor of ids in [0, upper)."""
    check_tensor_dim(assignment, 1, name, f"({length},)")
    if assignment.is_floating_point() or assignment.is_complex() or assignment.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer cluster ids, got dtype {assignment.dtype}")
    if assignment.shape[0] != length:
        raise ValueError(f"{name} must have length {length}, got shape {tuple(assignment.shape)}")
    if length == 0:
        return
    low, high = int(assignment.min()), int(assignment.max())
    if low < 0 or (upper is not None and high >= upper):
        bound = "" if upper is None else f", < {upper}"
        raise ValueError(f"{name} must hold ids >= 0{bound}, got values in [{low}, {high}]")


class ProtoNCELoss(nn.Module):
    """Module form of :func:`proto_nce`; ``forward`` takes the :class:`ClusterPrototypes` of each
    clustering run and the (M, N) assignments.

    Args:
        normalize: L2-normalise the embeddings first.

    Example:
        >>> z = torch.randn(6, 4)
        >>> labels = torch.tensor([[0, 0, 1, 1, 2, 2]])
        >>> protos = [cluster_prototypes(z, labels[0], temperature=0.4)]
        >>> ProtoNCELoss()(z, protos, labels).shape
        torch.Size([])
    """

    def __init__(self, normalize: bool = True) -> None:
        super().__init__()
        self.normalize = normalize

    def forward(
        self, embeddings: Tensor, prototypes: Sequence[ClusterPrototypes], assignments: Tensor
    ) -> Tensor:
        return proto_nce(
            embeddings,
            [p.centroids for p in prototypes],
            [p.concentrations for p in prototypes],
            assignments,
            normalize=self.normalize,
        )
