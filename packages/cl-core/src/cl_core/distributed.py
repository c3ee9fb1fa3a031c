r"""Exact multi-process contrastive losses: a differentiable all-gather and how losses use it.

In data-parallel training every process holds a local batch of n rows; a contrastive loss wants
the whole global batch of B = sum of n as negatives. The convention here is open_clip's
``local_loss`` (Cherti et al., "Reproducible scaling laws for contrastive language-image
learning", 2023, arXiv:2212.07143; CLIP, arXiv:2103.00020): each rank scores its **local anchors**
against the **gathered candidates**, with positive and excluded column indices shifted by the
rank's offset in the global batch, and averages over its local anchors.

Gradient convention. :func:`gather_with_grad` sums the incoming gradients of all ranks in
backward (all-reduce) and hands each rank the slice of its own rows, i.e. it differentiates the
**sum of the per-rank losses** :math:`\sum_r L_r`. With equal local batches and per-rank losses
that are means over local anchors, :math:`\sum_r L_r = W \cdot L_{global}` (W processes), so each
rank's input gradient is W times the single-process gradient of the global mean, and
DistributedDataParallel's gradient averaging (division by W) makes the parameter update equal to
single-process training on the whole batch. The per-rank loss values average to the global loss.
With unequal local batches use ``reduction="sum"`` and divide by the global count.

Outside ``torch.distributed`` (not available or not initialised) every function is a no-op for a
world of one process, so the same code runs on one device.
"""

from __future__ import annotations

import enum

import torch
import torch.distributed as dist
from torch import Tensor
from torch.autograd.function import FunctionCtx

from cl_core.validation import check_embeddings, check_is_tensor, check_labels


class Distribution(enum.Enum):
    """How a loss computes its exact global-batch value across processes.

    ``GATHER_NEGATIVES``: local anchors against all-gathered candidates (InfoNCE family).
    ``ALL_REDUCE_STATS``: the loss depends on batch statistics (moments, covariances) that are
    summed across processes with :func:`all_reduce_with_grad` before the loss is formed.
    ``LOCAL``: every term involves only local rows (margin / triplet losses); nothing to share.
    """

    GATHER_NEGATIVES = "gather_negatives"
    ALL_REDUCE_STATS = "all_reduce_stats"
    LOCAL = "local"


#: Loss name (as exported by ``cl_core.losses``) -> how it distributes.
LOSS_DISTRIBUTION: dict[str, Distribution] = {
    "nt_xent": Distribution.GATHER_NEGATIVES,
    "info_nce": Distribution.GATHER_NEGATIVES,
    "clip_loss": Distribution.GATHER_NEGATIVES,
    "supcon": Distribution.GATHER_NEGATIVES,
    "dcl": Distribution.GATHER_NEGATIVES,
    "contrastive_margin": Distribution.LOCAL,
    "triplet_margin": Distribution.LOCAL,
}


def distribution_of(loss_name: str) -> Distribution:
    """Return the declared :class:`Distribution` of a loss by name.

    Args:
        loss_name: A key of :data:`LOSS_DISTRIBUTION`, e.g. ``"nt_xent"``.

    Raises:
        ValueError: The loss has no declaration.

    Example:
        >>> distribution_of("clip_loss")
        <Distribution.GATHER_NEGATIVES: 'gather_negatives'>
    """
    if loss_name not in LOSS_DISTRIBUTION:
        raise ValueError(f"loss_name must be one of {sorted(LOSS_DISTRIBUTION)}, got {loss_name!r}")
    return LOSS_DISTRIBUTION[loss_name]


def is_distributed() -> bool:
    """True when ``torch.distributed`` is available and a default process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def world_size(group: dist.ProcessGroup | None = None) -> int:
    """Number of processes in ``group`` (1 outside distributed runs)."""
    return dist.get_world_size(group) if is_distributed() else 1


def rank(group: dist.ProcessGroup | None = None) -> int:
    """This process's rank within ``group`` (0 outside distributed runs)."""
    return dist.get_rank(group) if is_distributed() else 0


def gathered_sizes(local_size: int, group: dist.ProcessGroup | None = None) -> list[int]:
    """The local batch size of every rank, in rank order (one small all-gather).

    Args:
        local_size: This rank's number of rows.
        group: Process group; None is the default group.

    Returns:
        A list of ``world_size(group)`` ints; ``[local_size]`` outside distributed runs.
    """
    if not is_distributed():
        return [local_size]
    size = torch.tensor([local_size], dtype=torch.long, device=_collective_device(group))
    sizes = [torch.empty_like(size) for _ in range(world_size(group))]
    dist.all_gather(sizes, size, group=group)
    return [int(s) for s in sizes]


def rank_offset(local_size: int, group: dist.ProcessGroup | None = None) -> int:
    """Global row index of this rank's first local row: the sum of the sizes of lower ranks.

    Example:
        >>> rank_offset(8)  # not distributed: one process, offset 0
        0
    """
    return sum(gathered_sizes(local_size, group)[: rank(group)])


def gather_no_grad(x: Tensor, group: dist.ProcessGroup | None = None) -> Tensor:
    """Concatenate ``x`` of every rank along dim 0, in rank order, without autograd.

    Local batches may differ in size. Outside distributed runs ``x`` is returned unchanged.

    Args:
        x: Local tensor, shape (n, ...).
        group: Process group; None is the default group.

    Returns:
        The (sum of n, ...) concatenation.
    """
    check_is_tensor(x, "x")
    if not is_distributed():
        return x
    return _all_gather_concat(x.detach(), gathered_sizes(x.shape[0], group), group)


def gather_with_grad(x: Tensor, group: dist.ProcessGroup | None = None) -> Tensor:
    """All-gather ``x`` along dim 0 so that gradients flow back to the rank that produced each row.

    Backward all-reduces (sums) the gradient arriving at the gathered tensor over all ranks and
    returns this rank's slice: the gradient of the sum of all ranks' losses (see the module
    docstring for the scale convention). Outside distributed runs ``x`` is returned unchanged.

    Args:
        x: Local tensor, shape (n, ...); n may differ between ranks.
        group: Process group; None is the default group.

    Returns:
        The (sum of n, ...) concatenation, differentiable with respect to ``x``.

    Example:
        >>> import torch
        >>> x = torch.randn(4, 8, requires_grad=True)
        >>> gather_with_grad(x).shape  # one process: unchanged
        torch.Size([4, 8])
    """
    check_is_tensor(x, "x")
    if not is_distributed():
        return x
    return _GatherWithGrad.apply(x, group)


def all_reduce_with_grad(x: Tensor, group: dist.ProcessGroup | None = None) -> Tensor:
    """Sum ``x`` over all ranks; backward sums the incoming gradients over ranks as well.

    For statistics-based losses (:attr:`Distribution.ALL_REDUCE_STATS`): sum per-rank moments,
    form the loss from the global statistic, and the gradient of the sum of the per-rank losses
    reaches every rank's contribution. Outside distributed runs ``x`` is returned unchanged.

    Args:
        x: Tensor of the same shape on every rank.
        group: Process group; None is the default group.

    Returns:
        The elementwise sum over ranks.
    """
    check_is_tensor(x, "x")
    if not is_distributed():
        return x
    return _AllReduceWithGrad.apply(x, group)


def gathered_pair(
    anchors: Tensor, candidates: Tensor, group: dist.ProcessGroup | None = None
) -> tuple[Tensor, Tensor]:
    """Gathered candidates and the global positive index of local anchors, for paired losses.

    Row i of ``candidates`` is the positive of local anchor i (InfoNCE, each CLIP direction).
    The anchors stay local; the candidates of all ranks are gathered with gradient.

    Args:
        anchors: Local anchors, shape (n, D).
        candidates: Local positives, shape (n, D).
        group: Process group; None is the default group.

    Returns:
        ``(all_candidates, positive_index)``: the (B, D) gathered candidates and the (n,) column
        of each local anchor's positive, ``arange(n) + rank_offset(n)``.

    Example:
        >>> import torch
        >>> a, c = torch.randn(4, 8), torch.randn(4, 8)
        >>> all_c, index = gathered_pair(a, c)
        >>> index.tolist()
        [0, 1, 2, 3]
    """
    check_embeddings(anchors, "anchors", "(n, D)")
    check_embeddings(candidates, "candidates", "(n, D)")
    if anchors.shape[0] != candidates.shape[0]:
        raise ValueError(
            f"anchors and candidates must have the same number of rows, got {anchors.shape[0]} "
            f"and {candidates.shape[0]}"
        )
    offset = rank_offset(anchors.shape[0], group)
    index = torch.arange(anchors.shape[0], device=anchors.device) + offset
    return gather_with_grad(candidates, group), index


def gathered_views(
    z1: Tensor, z2: Tensor, group: dist.ProcessGroup | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Local anchors and gathered candidates for two-view losses (NT-Xent, DCL).

    One process stacks its views as ``[z1; z2]`` (2B rows) with positive ``(k + B) mod 2B`` and
    itself excluded. Here the local rows ``[z1; z2]`` (2n) are the anchors and the candidates are
    ``[gather(z1); gather(z2)]``, so anchor k keeps exactly its single-process row of the loss.

    Args:
        z1: Local first views, shape (n, D).
        z2: Local second views, shape (n, D).
        group: Process group; None is the default group.

    Returns:
        ``(anchors, candidates, positive_index, exclude_index)`` with shapes (2n, D), (2B, D),
        (2n,) and (2n,); per-row losses come out in the order rows of z1, then rows of z2.

    Example:
        >>> import torch
        >>> anchors, candidates, positive, exclude = gathered_views(
        ...     torch.randn(3, 4), torch.randn(3, 4)
        ... )
        >>> positive.tolist(), exclude.tolist()
        ([3, 4, 5, 0, 1, 2], [0, 1, 2, 3, 4, 5])
    """
    check_embeddings(z1, "z1", "(n, D)")
    check_embeddings(z2, "z2", "(n, D)")
    if z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    local = z1.shape[0]
    sizes = gathered_sizes(local, group)
    total, offset = sum(sizes), sum(sizes[: rank(group)])
    rows = torch.arange(local, device=z1.device) + offset
    candidates = torch.cat((gather_with_grad(z1, group), gather_with_grad(z2, group)), dim=0)
    positive_index = torch.cat((rows + total, rows))
    exclude_index = torch.cat((rows, rows + total))
    return torch.cat((z1, z2), dim=0), candidates, positive_index, exclude_index


def gathered_multiview(
    features: Tensor, labels: Tensor, group: dist.ProcessGroup | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Local anchors and gathered candidates for multi-view supervised losses (SupCon).

    One process orders the V*B views view-major (row ``v * B + b``). Here the local views (V*n,
    view-major) are the anchors and the candidates are the gathered views in the global
    view-major order, with each anchor's own column excluded.

    Args:
        features: Local view embeddings, shape (n, V, D).
        labels: Local (n,) integer labels.
        group: Process group; None is the default group.

    Returns:
        ``(anchors, candidates, anchor_labels, candidate_labels, exclude_index)`` with shapes
        (V*n, D), (V*B, D), (V*n,), (V*B,) and (V*n,); anchor row ``v * n + i`` is view v of
        local sample i.

    Example:
        >>> import torch
        >>> out = gathered_multiview(torch.randn(3, 2, 4), torch.tensor([0, 1, 0]))
        >>> out[4].tolist()
        [0, 1, 2, 3, 4, 5]
    """
    check_embeddings(features, "features", "(n, V, D)", ndim=3)
    local, num_views, dim = features.shape
    check_labels(labels, local, "labels")
    sizes = gathered_sizes(local, group)
    total, offset = sum(sizes), sum(sizes[: rank(group)])
    all_features = gather_with_grad(features, group)
    all_labels = gather_no_grad(labels.to(features.device), group)
    views = torch.arange(num_views, device=features.device).unsqueeze(1)
    rows = torch.arange(local, device=features.device).unsqueeze(0)
    exclude_index = (views * total + offset + rows).reshape(-1)
    return (
        features.transpose(0, 1).reshape(num_views * local, dim),
        all_features.transpose(0, 1).reshape(num_views * total, dim),
        labels.to(features.device).repeat(num_views),
        all_labels.repeat(num_views),
        exclude_index,
    )


def _collective_device(group: dist.ProcessGroup | None) -> torch.device:
    """NCCL collectives need CUDA tensors; gloo and others take CPU tensors."""
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _all_gather_concat(x: Tensor, sizes: list[int], group: dist.ProcessGroup | None) -> Tensor:
    """All-gather rows of possibly different counts: pad to the largest, gather, trim, concat."""
    largest = max(sizes)
    padded = x
    if x.shape[0] < largest:
        padding = x.new_zeros((largest - x.shape[0], *x.shape[1:]))
        padded = torch.cat((x, padding), dim=0)
    pieces = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(pieces, padded.contiguous(), group=group)
    return torch.cat([piece[:size] for piece, size in zip(pieces, sizes, strict=True)], dim=0)


class _GatherWithGrad(torch.autograd.Function):
    """Forward: all-gather rows; backward: sum gradients over ranks, keep this rank's slice."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, group: dist.ProcessGroup | None) -> Tensor:
        sizes = gathered_sizes(x.shape[0], group)
        own_rank = dist.get_rank(group)
        ctx.group = group
        ctx.start = sum(sizes[:own_rank])
        ctx.stop = ctx.start + sizes[own_rank]
        return _all_gather_concat(x, sizes, group)

    @staticmethod
    def backward(ctx: FunctionCtx, grad_output: Tensor) -> tuple[Tensor, None]:
        summed = grad_output.contiguous().clone()
        dist.all_reduce(summed, op=dist.ReduceOp.SUM, group=ctx.group)
        return summed[ctx.start : ctx.stop], None


class _AllReduceWithGrad(torch.autograd.Function):
    """Forward: sum over ranks; backward: the gradient of the summed per-rank losses."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, group: dist.ProcessGroup | None) -> Tensor:
        ctx.group = group
        summed = x.contiguous().clone()
        dist.all_reduce(summed, op=dist.ReduceOp.SUM, group=group)
        return summed

    @staticmethod
    def backward(ctx: FunctionCtx, grad_output: Tensor) -> tuple[Tensor, None]:
        summed = grad_output.contiguous().clone()
        dist.all_reduce(summed, op=dist.ReduceOp.SUM, group=ctx.group)
        return summed, None
