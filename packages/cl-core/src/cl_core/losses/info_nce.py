"""InfoNCE with in-batch negatives and optional explicit (hard) negatives.

van den Oord, Li, Vinyals, "Representation Learning with Contrastive Predictive Coding", 2018,
arXiv:1807.03748. Hard negatives follow supervised SimCSE: Gao, Yao, Chen, "SimCSE: Simple
Contrastive Learning of Sentence Embeddings", EMNLP 2021, arXiv:2104.08821.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from cl_core.distributed import gather_with_grad, gathered_pair
from cl_core.losses._embeddings import prepared_embeddings
from cl_core.losses._module import BatchLossModule
from cl_core.losses._reduction import Reduction
from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import (
    check_reduction,
    check_same_shape,
    check_same_width,
    check_temperature,
)

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


def info_nce(
    query: Tensor,
    positive: Tensor,
    negatives: Tensor | None = None,
    temperature: float | Tensor = 0.1,
    *,
    hard_negative_weight: float = 0.0,
    normalize: bool = True,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
    gather: bool = False,
    group: ProcessGroup | None = None,
) -> Tensor:
    r"""InfoNCE of each query against its positive, the other positives, and explicit negatives.

    With :math:`s(x, y) = x^\top y / \tau` on L2-normalised embeddings, query :math:`q_i` is scored
    against the candidate set :math:`C` = all B positives plus all explicit negatives:

    .. math::

        \ell_i = -\log \frac{\exp s(q_i, p_i)}
            {\sum_{c \in C} \exp\big(s(q_i, c) + \lambda\,[c \in H(q_i)]\big)}

    Explicit negatives come in two forms:

    * (M, D): M negatives shared by every query (appended after the B positives).
    * (B, K, D): K hard negatives per query. As in supervised SimCSE's 2B candidate columns, the
      hard negatives of the *other* queries also count as negatives for each query, so every query
      sees B + B*K candidates. ``hard_negative_weight`` :math:`\lambda` is an additive log-weight
      on each query's *own* hard negatives :math:`H(q_i)` (SimCSE's ``hard_negative_weight``,
      default 0).

    Args:
        query: Queries / anchors, shape (B, D).
        positive: Positives, shape (B, D); row i is the positive of query i.
        negatives: None, shared negatives (M, D), or per-query hard negatives (B, K, D).
        temperature: :math:`\tau > 0` (SimCSE uses 0.05).
        hard_negative_weight: :math:`\lambda`, finite; only with per-query (B, K, D) negatives.
        normalize: L2-normalise all embeddings first (cosine similarity).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (B,) per-query losses).
        chunk_size: Stream over candidate blocks (see ``masked_logits_loss``). A non-zero
            ``hard_negative_weight`` needs dense log-weights, so the dense path is used then.
        gather: Data-parallel training: score the local queries against the positives and the
            explicit negatives gathered from every rank (:func:`cl_core.distributed.gathered_pair`,
            :func:`cl_core.distributed.gather_with_grad`), i.e. B and M become global sizes.
            Gradients follow ``cl_core.distributed``'s convention: with ``"mean"`` and equal local
            batches each rank's input gradient is world size times the single-process one, which
            DDP's averaging cancels. Not combinable with a non-zero ``hard_negative_weight``. A
            no-op when ``torch.distributed`` is not initialised.
        group: Process group for ``gather``; None is the default group.

    Returns:
        A scalar, or the (B,) per-query losses for ``"none"``.

    Example:
        >>> import torch
        >>> q, p, hard = torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 1, 8)
        >>> info_nce(q, p, hard, temperature=0.05).shape
        torch.Size([])
    """
    queries = prepared_embeddings(query, "query", normalize=normalize)
    positives = prepared_embeddings(positive, "positive", normalize=normalize)
    check_same_shape(queries, positives, "query", "positive")
    check_temperature(temperature)
    check_reduction(reduction)
    if not isinstance(hard_negative_weight, int | float) or not math.isfinite(hard_negative_weight):
        raise ValueError(
            f"hard_negative_weight must be a finite float, got {hard_negative_weight!r}"
        )
    if gather and hard_negative_weight != 0.0:
        raise ValueError(
            "hard_negative_weight must be 0 with gather=True (its log-weights are per local "
            f"query), got {hard_negative_weight!r}"
        )
    batch = queries.shape[0]
    if gather:
        candidates, positive_index = gathered_pair(queries, positives, group)
    else:
        candidates = positives
        positive_index = torch.arange(batch, device=queries.device)
    log_weights = None
    if negatives is not None:
        explicit, log_weights = _explicit_negatives(
            negatives, batch, normalize=normalize, hard_negative_weight=hard_negative_weight
        )
        check_same_width(queries, explicit, "query", "negatives")
        if gather:
            explicit = gather_with_grad(explicit, group)
        candidates = torch.cat((candidates, explicit.to(candidates.dtype)), dim=0)
    elif hard_negative_weight != 0.0:
        raise ValueError("hard_negative_weight needs per-query negatives of shape (B, K, D)")
    return masked_logits_loss(
        queries,
        candidates,
        temperature=temperature,
        positive_index=positive_index,
        log_weights=log_weights,
        reduction=reduction,
        chunk_size=chunk_size,
    )


def _explicit_negatives(
    negatives: Tensor, batch: int, *, normalize: bool, hard_negative_weight: float
) -> tuple[Tensor, Tensor | None]:
    """Flatten explicit negatives to candidate rows; build log-weights for a non-zero weight."""
    rank = negatives.dim() if isinstance(negatives, Tensor) else 3
    if rank not in (2, 3):
        raise ValueError(
            f"negatives must have shape (M, D) or (B, K, D), got shape {tuple(negatives.shape)}"
        )
    if rank == 2:
        if hard_negative_weight != 0.0:
            raise ValueError(
                "hard_negative_weight needs per-query negatives of shape (B, K, D), got shared "
                f"negatives of shape {tuple(negatives.shape)}"
            )
        return prepared_embeddings(
            negatives, "negatives", normalize=normalize, shape="(M, D)"
        ), None
    per_query = prepared_embeddings(
        negatives, "negatives", normalize=normalize, shape="(B, K, D)", ndim=3
    )
    if per_query.shape[0] != batch:
        raise ValueError(
            f"negatives of shape (B, K, D) must have B={batch} like query, got shape "
            f"{tuple(per_query.shape)}"
        )
    per_negative = per_query.shape[1]
    flat = per_query.reshape(batch * per_negative, per_query.shape[2])
    if hard_negative_weight == 0.0:
        return flat, None
    owner = torch.arange(batch, device=flat.device).repeat_interleave(per_negative)
    own_columns = owner.unsqueeze(0) == torch.arange(batch, device=flat.device).unsqueeze(1)
    in_batch = torch.zeros(batch, batch, dtype=flat.dtype, device=flat.device)
    log_weights = torch.cat((in_batch, own_columns.to(flat.dtype) * hard_negative_weight), dim=1)
    return flat, log_weights


class InfoNCELoss(BatchLossModule):
    """Module form of :func:`info_nce` (CPC arXiv:1807.03748; SimCSE arXiv:2104.08821).

    ``gather=True`` scores local queries against the candidates of every rank (see
    :func:`info_nce`).

    Options are those of :class:`~cl_core.losses._module.BatchLossModule`; the temperature
    defaults to 0.1.

    Example:
        >>> import torch
        >>> loss = InfoNCELoss(temperature=0.05)(torch.randn(4, 8), torch.randn(4, 8))
    """

    default_temperature = 0.1

    def __init__(
        self, temperature: float | None = None, *, hard_negative_weight: float = 0.0, **options: Any
    ) -> None:
        super().__init__(temperature, **options)
        self.hard_negative_weight = hard_negative_weight

    def forward(self, query: Tensor, positive: Tensor, negatives: Tensor | None = None) -> Tensor:
        """Return :func:`info_nce` of queries (B, D), positives (B, D) and optional negatives."""
        return info_nce(
            query,
            positive,
            negatives,
            self.temperature,
            hard_negative_weight=self.hard_negative_weight,
            **self.loss_options(),
        )
