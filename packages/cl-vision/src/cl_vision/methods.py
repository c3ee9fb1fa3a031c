"""One registry of the vision methods: name -> loss, temperature, views, head.

Every loss comes from :mod:`cl_core.losses`; the few modules below only adapt the kernel losses
to :class:`cl_core.training.ContrastiveModule`'s call ``loss(*view_embeddings, **kwargs)``:

- ``simclr``: NT-Xent (Chen et al., 2020, arXiv:2002.05709), tau 0.5.
- ``dcl`` / ``dclw``: Decoupled Contrastive Learning (Yeh et al., ECCV 2022, arXiv:2110.06848),
  tau 0.1, sigma 0.5.
- ``nnclr`` / ``nnclr-dcl``: NNCLR (Dwibedi et al., ICCV 2021, arXiv:2104.14548): the query is the
  nearest neighbour of a view's embedding in a FIFO support queue (no gradient through it);
  ``L = (l(NN(z1), z2) + l(NN(z2), z1)) / 2`` with ``l`` the one-way InfoNCE or, for
  ``nnclr-dcl``, DCL.
- ``mv-infonce`` / ``mv-dhel`` / ``mv-pairwise``: multi-view objectives over V views (Koromilas
  et al., 2025, arXiv:2507.06979); the pairwise average of NT-Xent is their baseline.
- ``hydra``: gated multi-positive CE with class-pair positives (Wu et al., arXiv:2410.18200).
- ``amcl``: 3 projection heads and the pair-temperature network (Wang et al., ECCV 2024,
  arXiv:2310.05615).
- ``cacr``: contrastive attraction / repulsion (Zheng et al., TMLR 2023, arXiv:2105.03746).
- ``hard-nce``: InfoNCE with only the top-K hardest negatives in the denominator (Wang & Liu,
  "Understanding the Behaviour of Contrastive Loss", CVPR 2021, arXiv:2012.09740).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from cl_core.losses import (
    AMCLLoss,
    HydraLoss,
    cacr,
    dcl,
    hard_negative_info_nce,
    info_nce,
    mv_dhel,
    mv_infonce,
    mv_pairwise_average,
    nt_xent,
)
from cl_core.mining import NearestNeighbourSupport


@dataclass(frozen=True)
class LossSetup:
    """What a loss factory may need to know."""

    dim: int
    num_classes: int
    queue_size: int
    top_k: int


@dataclass(frozen=True)
class MethodSpec:
    """A method's defaults.

    Attributes:
        temperature: passed to the loss as ``temperature=``; ``None`` when the loss has its own
            (AMCL's network, CACR's plan sharpness, Hydra's learned scale).
        num_views: default number of views V.
        needs_labels: the loss takes ``labels`` (supervised).
        num_heads: projection heads (AMCL: 3, others 1).
        make_loss: ``LossSetup -> loss callable`` (a module when it holds state or parameters).
    """

    temperature: float | None
    num_views: int
    needs_labels: bool
    num_heads: int
    make_loss: Callable[[LossSetup], Callable[..., Tensor]]


class NNCLRLoss(nn.Module):
    """NNCLR: nearest-neighbour positives from a support queue, with InfoNCE or DCL.

    ``L = (l(NN(z1), z2) + l(NN(z2), z1)) / 2``, ``NN`` the nearest neighbour (cosine) in the
    queue of past ``z1`` embeddings; ``l`` is one-way InfoNCE over in-batch candidates or DCL
    (whose two directions are both kept). On the first step the queue is filled with the batch
    itself, so that step equals the plain loss.

    Args:
        dim: embedding width.
        queue_size: support-set capacity.
        pair_loss: ``"info_nce"`` or ``"dcl"``.

    Shapes:
        ``forward(z1 (B, D), z2 (B, D), temperature) -> scalar``.
    """

    def __init__(self, dim: int, queue_size: int = 4096, pair_loss: str = "info_nce") -> None:
        super().__init__()
        if pair_loss not in ("info_nce", "dcl"):
            raise ValueError(f"pair_loss must be 'info_nce' or 'dcl', got {pair_loss!r}")
        self.support = NearestNeighbourSupport(queue_size, dim)
        self.pair_loss = pair_loss

    def forward(
        self, z1: Tensor, z2: Tensor, temperature: float | Tensor = 0.1, gather: bool = False
    ) -> Tensor:
        if len(self.support.queue) == 0:
            self.support.queue.enqueue(nn.functional.normalize(z1.detach(), dim=-1))
        nn1 = self.support(nn.functional.normalize(z1, dim=-1), update=False)
        nn2 = self.support(nn.functional.normalize(z2, dim=-1), update=False)
        if self.training:
            self.support.queue.enqueue(nn.functional.normalize(z1.detach(), dim=-1))
        if self.pair_loss == "dcl":
            return 0.5 * (
                dcl(nn1, z2, temperature, gather=gather) + dcl(nn2, z1, temperature, gather=gather)
            )
        return 0.5 * (
            info_nce(nn1, z2, temperature=temperature, gather=gather)
            + info_nce(nn2, z1, temperature=temperature, gather=gather)
        )


def _stacked(loss: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Adapt a ``(B, V, D)`` multi-view loss to ``loss(z_1, ..., z_V, temperature=...)``."""

    def views_loss(*views: Tensor, **kwargs: float | Tensor) -> Tensor:
        return loss(torch.stack(views, dim=1), **kwargs)

    views_loss.__name__ = getattr(loss, "__name__", "views_loss")
    return views_loss


def _cacr(*views: Tensor) -> Tensor:
    return cacr(torch.stack(views, dim=1))


def _dclw(z1: Tensor, z2: Tensor, temperature: float | Tensor, gather: bool = False) -> Tensor:
    return dcl(z1, z2, temperature, weighted=True, sigma=0.5, gather=gather)


class SymmetricHardNegativeLoss(nn.Module):
    """``(h(z1, z2) + h(z2, z1)) / 2`` with ``h`` :func:`cl_core.losses.hard_negative_info_nce`."""

    def __init__(self, top_k: int) -> None:
        super().__init__()
        self.top_k = top_k

    def forward(self, z1: Tensor, z2: Tensor, temperature: float | Tensor) -> Tensor:
        forward_loss = hard_negative_info_nce(z1, z2, temperature, top_k=self.top_k)
        backward_loss = hard_negative_info_nce(z2, z1, temperature, top_k=self.top_k)
        return 0.5 * (forward_loss + backward_loss)


class HydraViewsLoss(nn.Module):
    """:class:`cl_core.losses.HydraLoss` on two views with labels (tau 0.1, learned scale)."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.loss = HydraLoss(num_classes, dim, embed_dim=128, hidden_dim=256)

    def forward(self, z1: Tensor, z2: Tensor, labels: Tensor) -> Tensor:
        return self.loss(z1, z2, labels)


METHODS: dict[str, MethodSpec] = {
    "simclr": MethodSpec(0.5, 2, False, 1, lambda s: nt_xent),
    "dcl": MethodSpec(0.1, 2, False, 1, lambda s: dcl),
    "dclw": MethodSpec(0.1, 2, False, 1, lambda s: _dclw),
    "nnclr": MethodSpec(0.1, 2, False, 1, lambda s: NNCLRLoss(s.dim, s.queue_size)),
    "nnclr-dcl": MethodSpec(0.1, 2, False, 1, lambda s: NNCLRLoss(s.dim, s.queue_size, "dcl")),
    "mv-infonce": MethodSpec(0.5, 4, False, 1, lambda s: _stacked(mv_infonce)),
    "mv-dhel": MethodSpec(0.5, 4, False, 1, lambda s: _stacked(mv_dhel)),
    "mv-pairwise": MethodSpec(0.5, 4, False, 1, lambda s: _stacked(mv_pairwise_average)),
    "hydra": MethodSpec(None, 2, True, 1, lambda s: HydraViewsLoss(s.num_classes, s.dim)),
    "amcl": MethodSpec(None, 2, False, 3, lambda s: AMCLLoss(s.dim, top_k=s.top_k)),
    "cacr": MethodSpec(None, 4, False, 1, lambda s: _cacr),
    "hard-nce": MethodSpec(0.5, 2, False, 1, lambda s: SymmetricHardNegativeLoss(s.top_k)),
}
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)


def method_spec(name: str) -> MethodSpec:
    """The :class:`MethodSpec` of ``name``; raises ``ValueError`` naming the known methods."""
    if name not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHOD_NAMES)}, got {name!r}")
    return METHODS[name]
