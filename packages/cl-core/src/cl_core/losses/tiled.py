"""Tiled (memory-lean) masked-logits losses: stream over candidate blocks, recompute in backward.

The all-pairs similarity matrix of a contrastive loss grows as N * M; at N = M = 32768 a float32
copy is 4 GiB and autograd keeps several. The functions here never hold more than one
(N, block) slice of it. The forward pass accumulates a running (online) logsumexp over candidate
blocks and saves only the inputs and per-row statistics; the backward pass recomputes each block
product and turns it into the block of the gradient in place. This is the memory scheme of
"Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup" (Gao et al., 2021,
arXiv:2101.06983) and of online softmax (Milakov & Gimelshein, "Online normalizer calculation for
softmax", 2018, arXiv:1805.02867), applied to the masked-logits core of
:mod:`cl_core.losses.masked_logits`.

Cost: one (N, M, D) product forward and three backward (recompute, grad of anchors, grad of
candidates), the floor for any method that does not store the (N, M) matrix. The fused symmetric
form :func:`tiled_symmetric_info_nce` (CLIP) obtains both directions from the same four products.
Extra memory is O(N * block) floats plus O((N + M) * D) for the gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from cl_core.losses._autocast import full_precision
from cl_core.losses._reduction import Reduction, reduce_losses
from cl_core.losses.masked_logits import DenominatorMode, compute_dtype
from cl_core.validation import (
    check_chunk_size,
    check_embeddings,
    check_masked_logits_inputs,
    check_reduction,
    check_rows_have_negative,
    check_rows_have_positive,
    check_same_shape,
    check_temperature,
)

#: Target number of float32 logits in one block (32 Mi elements = 128 MiB): large enough that the
#: block product runs near the matrix-multiply peak, small enough to bound the extra memory.
BLOCK_ELEMENTS = 32 * 1024 * 1024
MIN_BLOCK = 256
MAX_BLOCK = 4096


def default_block_size(num_anchors: int, num_candidates: int) -> int:
    """Candidate block size so that an (N, block) float32 slice holds about ``BLOCK_ELEMENTS``.

    Args:
        num_anchors: N, the number of anchor rows.
        num_candidates: M, the number of candidate columns.

    Returns:
        A block size in ``[1, M]``, between ``MIN_BLOCK`` and ``MAX_BLOCK`` unless M is smaller.
    """
    block = max(MIN_BLOCK, min(MAX_BLOCK, BLOCK_ELEMENTS // max(num_anchors, 1)))
    return min(block, num_candidates)


@full_precision
def tiled_masked_logits_loss(
    anchors: Tensor,
    candidates: Tensor,
    *,
    temperature: float | Tensor,
    positive_index: Tensor | None = None,
    anchor_labels: Tensor | None = None,
    candidate_labels: Tensor | None = None,
    exclude_index: Tensor | None = None,
    positives_in_denominator: DenominatorMode = "all",
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
) -> Tensor:
    r"""The masked-logits contrastive loss computed block by block, without the (N, M) matrix.

    Same contract and values as :func:`cl_core.losses.masked_logits.masked_logits_loss` for the
    arguments that need no dense (N, M) tensor. With :math:`s_{ij} = a_i^\top c_j / \tau`:

    .. math::

        \ell_i = \frac{1}{|P(i)|} \sum_{p \in P(i)} \Big[
            \operatorname{LSE}_{j \in \mathrm{Den}(i, p)} s_{ij} - s_{ip} \Big]

    with :math:`\mathrm{Den}(i,p) = \mathrm{Neg}(i) \cup P(i)` (``"all"``),
    :math:`\mathrm{Neg}(i) \cup \{p\}` (``"self"``) or :math:`\mathrm{Neg}(i)` (``"none"``). The
    column ``exclude_index[i]`` is dropped everywhere. The gradient with respect to the logits is
    :math:`\partial \ell_i / \partial s_{ij} = \alpha_i e^{s_{ij} - L_i}[j \in D_i] -
    \beta_{ij}[j \in P(i)]` (:math:`L_i` the logsumexp over the shared denominator :math:`D_i`);
    the backward pass rebuilds it one block at a time.

    Logits and all accumulations are float32 for fp16/bf16/fp32 inputs (float64 for float64
    inputs); gradients are returned in each input's dtype. Gradients flow to ``anchors``,
    ``candidates`` and a tensor ``temperature``. Double backward is not supported.

    Args:
        anchors: Anchor embeddings, shape (N, D).
        candidates: Candidate embeddings, shape (M, D).
        temperature: :math:`\tau > 0`, a float or a one-element tensor (may require grad).
        positive_index: (N,) integer tensor, the positive column of each row.
        anchor_labels: (N,) integer labels; positives are the candidates with the same label.
        candidate_labels: (M,) integer labels, given together with ``anchor_labels``.
        exclude_index: (N,) integer tensor, one column per row to drop; -1 drops none.
        positives_in_denominator: ``"all"``, ``"self"`` or ``"none"``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (N,) per-row losses).
        chunk_size: Candidate block size; None picks :func:`default_block_size`.

    Returns:
        A scalar, or an (N,) tensor for ``"none"``; float32 (float64 for float64 inputs).

    Raises:
        ValueError: Invalid shapes or values, a row without a positive, or (``"none"``) a row
            without a negative.
        TypeError: Wrong dtypes.

    Example:
        >>> import torch
        >>> a, c = torch.randn(6, 8), torch.randn(6, 8)
        >>> loss = tiled_masked_logits_loss(
        ...     a, c, temperature=0.1, positive_index=torch.arange(6), chunk_size=4
        ... )
        >>> loss.shape
        torch.Size([])
    """
    check_masked_logits_inputs(
        anchors,
        candidates,
        temperature=temperature,
        positive_index=positive_index,
        anchor_labels=anchor_labels,
        candidate_labels=candidate_labels,
        exclude_index=exclude_index,
        positives_in_denominator=positives_in_denominator,
        reduction=reduction,
        chunk_size=chunk_size,
    )
    return tiled_loss_unchecked(
        anchors,
        candidates,
        temperature=temperature,
        positive_index=positive_index,
        anchor_labels=anchor_labels,
        candidate_labels=candidate_labels,
        exclude_index=exclude_index,
        positives_in_denominator=positives_in_denominator,
        reduction=reduction,
        chunk_size=chunk_size,
    )


def tiled_loss_unchecked(
    anchors: Tensor,
    candidates: Tensor,
    *,
    temperature: float | Tensor,
    positive_index: Tensor | None,
    anchor_labels: Tensor | None,
    candidate_labels: Tensor | None,
    exclude_index: Tensor | None,
    positives_in_denominator: DenominatorMode,
    reduction: Reduction,
    chunk_size: int | None,
) -> Tensor:
    """:func:`tiled_masked_logits_loss` for callers that have validated the arguments already.

    The masked-logits core calls this after its own checks, so inputs are scanned once.
    """
    block = chunk_size or default_block_size(anchors.shape[0], candidates.shape[0])
    positions = _Positions(
        positive_index=None if positive_index is None else positive_index.long(),
        anchor_labels=anchor_labels,
        candidate_labels=candidate_labels,
        exclude_index=None if exclude_index is None else exclude_index.long(),
    )
    per_row = _TiledMaskedLogits.apply(
        anchors, candidates, temperature, positions, positives_in_denominator, block
    )
    return reduce_losses(per_row, reduction)


@full_precision
def tiled_symmetric_info_nce(
    first: Tensor,
    second: Tensor,
    temperature: float | Tensor,
    *,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
) -> Tensor:
    r"""Both directions of a paired InfoNCE (the CLIP loss) from one set of block products.

    With :math:`s_{ij} = x_i^\top y_j / \tau` for matched rows of ``first`` (:math:`x`) and
    ``second`` (:math:`y`), the per-pair loss is the mean of the row and the column cross-entropy
    (Radford et al., "Learning Transferable Visual Models From Natural Language Supervision",
    2021, arXiv:2103.00020):

    .. math::

        \ell_i = \tfrac{1}{2}\Big(\operatorname{LSE}_j s_{ij} - s_{ii}\Big)
               + \tfrac{1}{2}\Big(\operatorname{LSE}_j s_{ji} - s_{ii}\Big).

    A block of columns of :math:`s` holds every row, so its column logsumexps are complete while
    the row logsumexps accumulate online. Forward and backward together take four (B, B, D)
    products, half of what two calls of :func:`tiled_masked_logits_loss` take.

    Args:
        first: Embeddings of the first modality, shape (B, D) (e.g. images).
        second: Embeddings of the second modality, shape (B, D); row i matches row i of ``first``.
        temperature: :math:`\tau > 0`, a float or a one-element tensor (may require grad); CLIP's
            logit scale is :math:`1/\tau`.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (B,) per-pair losses).
        chunk_size: Column block size; None picks :func:`default_block_size`.

    Returns:
        A scalar, or the (B,) per-pair losses for ``"none"``; float32 (float64 for float64 inputs).

    Example:
        >>> import torch
        >>> x, y = torch.randn(6, 8), torch.randn(6, 8)
        >>> tiled_symmetric_info_nce(x, y, 0.07, chunk_size=4).shape
        torch.Size([])
    """
    check_embeddings(first, "first", "(B, D)")
    check_embeddings(second, "second", "(B, D)")
    check_same_shape(first, second, "first", "second")
    check_temperature(temperature)
    check_reduction(reduction)
    check_chunk_size(chunk_size)
    batch = first.shape[0]
    block = chunk_size or default_block_size(batch, batch)
    per_pair = _TiledSymmetricInfoNCE.apply(first, second, temperature, block)
    return reduce_losses(per_pair, reduction)


class _Positions:
    """Which columns are positive / excluded: an index per row, or labels (never an (N, M) mask)."""

    def __init__(
        self,
        *,
        positive_index: Tensor | None,
        anchor_labels: Tensor | None,
        candidate_labels: Tensor | None,
        exclude_index: Tensor | None,
    ) -> None:
        self.positive_index = positive_index
        self.anchor_labels = anchor_labels
        self.candidate_labels = candidate_labels
        self.exclude_index = exclude_index

    def drop_excluded(self, logits: Tensor, start: int) -> None:
        """Set the excluded entries of the block of columns starting at ``start`` to -inf."""
        if self.exclude_index is not None:
            _fill_index_in_block(logits, self.exclude_index, start, float("-inf"))

    def label_mask(self, start: int, stop: int) -> Tensor:
        """(N, stop - start) bool mask of label positives in the block, excluded columns removed."""
        mask = self.anchor_labels.unsqueeze(1) == self.candidate_labels[start:stop].unsqueeze(0)
        if self.exclude_index is not None:
            _fill_index_in_block(mask, self.exclude_index, start, False)
        return mask


def _fill_index_in_block(block: Tensor, index: Tensor, start: int, value: float | bool) -> None:
    """In place, set ``block[i, index[i] - start]`` for the rows whose index falls in the block."""
    local = index - start
    rows = torch.nonzero((local >= 0) & (local < block.shape[1])).squeeze(1)
    if rows.numel():
        block.index_put_(
            (rows, local[rows]), torch.tensor(value, dtype=block.dtype, device=block.device)
        )


def _temperature_value(temperature: float | Tensor) -> float:
    return float(temperature.detach()) if isinstance(temperature, Tensor) else float(temperature)


def _temperature_grad(
    temperature: float | Tensor, anchors: Tensor, anchor_grad: Tensor, tau: float
) -> Tensor:
    r""":math:`\partial L/\partial\tau = -\tfrac{1}{\tau}\sum_{ij} G_{ij} s_{ij}
    = -\tfrac{1}{\tau}\sum_i a_i^\top \partial L/\partial a_i`, so no extra pass is needed."""
    value = -(anchors * anchor_grad).sum() / tau
    return value.to(temperature.dtype).reshape(temperature.shape)


class _TiledMaskedLogits(torch.autograd.Function):
    """Per-row masked-logits losses with blockwise forward and recomputing backward."""

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        anchors: Tensor,
        candidates: Tensor,
        temperature: float | Tensor,
        positions: _Positions,
        mode: DenominatorMode,
        block: int,
    ) -> Tensor:
        dtype = compute_dtype(anchors, candidates)
        tau = _temperature_value(temperature)
        a, c = anchors.detach().to(dtype), candidates.detach().to(dtype)
        scaled = a / tau
        num_anchors, num_candidates = a.shape[0], c.shape[0]
        row_max = torch.full((num_anchors,), float("-inf"), dtype=dtype, device=a.device)
        row_sum = torch.zeros(num_anchors, dtype=dtype, device=a.device)
        by_label = positions.positive_index is None
        positive_sum = torch.zeros(num_anchors, dtype=dtype, device=a.device)
        positive_count = torch.zeros(num_anchors, dtype=dtype, device=a.device)
        for start in range(0, num_candidates, block):
            stop = min(start + block, num_candidates)
            logits = scaled @ c[start:stop].T
            positions.drop_excluded(logits, start)
            if by_label:
                mask = positions.label_mask(start, stop)
                positive_sum += torch.where(mask, logits, 0.0).sum(dim=1)
                positive_count += mask.sum(dim=1)
                if mode != "all":
                    logits.masked_fill_(mask, float("-inf"))
            elif mode != "all":
                _fill_index_in_block(logits, positions.positive_index, start, float("-inf"))
            _accumulate_row_logsumexp(logits, row_max, row_sum)
        log_denominator = row_max + row_sum.log()
        if by_label:
            check_rows_have_positive(positive_count)
        else:
            positive_sum = (scaled * c[positions.positive_index]).sum(dim=1)
            positive_count.fill_(1.0)
        if mode == "none":
            check_rows_have_negative(log_denominator)

        if mode == "self":
            per_row, row_weight = _self_mode_terms(
                scaled, c, positions, log_denominator, positive_sum, positive_count, block
            )
        else:
            per_row = log_denominator - positive_sum / positive_count
            row_weight = None
        ctx.save_for_backward(anchors, candidates, log_denominator, positive_count, row_weight)
        ctx.temperature = temperature
        ctx.positions = positions
        ctx.mode = mode
        ctx.block = block
        return per_row

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_per_row: Tensor) -> tuple[Tensor | None, ...]:
        anchors, candidates, log_denominator, positive_count, row_weight = ctx.saved_tensors
        positions: _Positions = ctx.positions
        mode: DenominatorMode = ctx.mode
        tau = _temperature_value(ctx.temperature)
        dtype = log_denominator.dtype
        a, c = anchors.to(dtype), candidates.to(dtype)
        scaled = a / tau
        row_scale = grad_per_row.to(dtype) / tau
        scaled_anchors = a * row_scale.unsqueeze(1)
        # A row whose denominator is empty ("self" without negatives) has no softmax term; a finite
        # shift keeps exp(-inf - shift) at 0 instead of NaN.
        shift = torch.where(torch.isinf(log_denominator), 0.0, log_denominator).unsqueeze(1)
        by_label = positions.positive_index is None
        grad_anchors_unscaled = torch.zeros_like(a)
        grad_candidates = torch.empty_like(c)
        for start in range(0, c.shape[0], ctx.block):
            stop = min(start + ctx.block, c.shape[0])
            block_candidates = c[start:stop]
            logits = scaled @ block_candidates.T
            positions.drop_excluded(logits, start)
            positive_weight = None
            if by_label:
                mask = positions.label_mask(start, stop)
                if mode == "self":
                    pair_weight = torch.sigmoid(log_denominator.unsqueeze(1) - logits)
                    positive_weight = torch.where(mask, pair_weight, 0.0)
                else:
                    positive_weight = mask.to(dtype)
                positive_weight.div_(positive_count.unsqueeze(1))
                if mode != "all":
                    logits.masked_fill_(mask, float("-inf"))
            elif mode != "all":
                _fill_index_in_block(logits, positions.positive_index, start, float("-inf"))
            gradient = logits.sub_(shift).exp_()
            if row_weight is not None:
                gradient.mul_(row_weight.unsqueeze(1))
            if positive_weight is not None:
                gradient.sub_(positive_weight)
            grad_anchors_unscaled.addmm_(gradient, block_candidates)
            torch.mm(gradient.T, scaled_anchors, out=grad_candidates[start:stop])
        grad_anchors = grad_anchors_unscaled.mul_(row_scale.unsqueeze(1))

        if not by_label:
            index = positions.positive_index
            positive_logit = (scaled * c[index]).sum(dim=1)
            weight = (
                torch.ones_like(positive_logit)
                if mode != "self"
                else torch.sigmoid(log_denominator - positive_logit)
            )
            grad_anchors -= (weight * row_scale).unsqueeze(1) * c[index]
            # index_put_ with accumulate: much faster than index_add_ on CPU, same sums.
            grad_candidates.index_put_(
                (index,), -(weight.unsqueeze(1) * scaled_anchors), accumulate=True
            )

        grad_temperature = None
        if isinstance(ctx.temperature, Tensor) and ctx.needs_input_grad[2]:
            grad_temperature = _temperature_grad(ctx.temperature, a, grad_anchors, tau)
        return (
            grad_anchors.to(anchors.dtype) if ctx.needs_input_grad[0] else None,
            grad_candidates.to(candidates.dtype) if ctx.needs_input_grad[1] else None,
            grad_temperature,
            None,
            None,
            None,
        )


def _self_mode_terms(
    scaled: Tensor,
    c: Tensor,
    positions: _Positions,
    log_negatives: Tensor,
    positive_sum: Tensor,
    positive_count: Tensor,
    block: int,
) -> tuple[Tensor, Tensor]:
    r"""Per-row loss and softmax weight for ``"self"``: each positive against itself + negatives.

    :math:`\ell_i = \frac{1}{|P|}\sum_p \operatorname{softplus}(N_i - s_{ip})` with :math:`N_i` the
    logsumexp over negatives; the negatives' gradient weight is
    :math:`W_i = \frac{1}{|P|}\sum_p \sigma(N_i - s_{ip})`. Labels need a second block pass.
    """
    if positions.positive_index is not None:
        gap = log_negatives - positive_sum
        return torch.nn.functional.softplus(gap), torch.sigmoid(gap)
    loss_sum = torch.zeros_like(log_negatives)
    weight_sum = torch.zeros_like(log_negatives)
    for start in range(0, c.shape[0], block):
        stop = min(start + block, c.shape[0])
        gap = log_negatives.unsqueeze(1) - scaled @ c[start:stop].T
        mask = positions.label_mask(start, stop)
        loss_sum += torch.where(mask, torch.nn.functional.softplus(gap), 0.0).sum(dim=1)
        weight_sum += torch.where(mask, torch.sigmoid(gap), 0.0).sum(dim=1)
    return loss_sum / positive_count, weight_sum / positive_count


class _TiledSymmetricInfoNCE(torch.autograd.Function):
    """Per-pair mean of row and column cross-entropy, one block product per column block."""

    @staticmethod
    def forward(
        ctx: FunctionCtx, first: Tensor, second: Tensor, temperature: float | Tensor, block: int
    ) -> Tensor:
        dtype = compute_dtype(first, second)
        tau = _temperature_value(temperature)
        x, y = first.detach().to(dtype), second.detach().to(dtype)
        scaled = x / tau
        batch = x.shape[0]
        row_max = torch.full((batch,), float("-inf"), dtype=dtype, device=x.device)
        row_sum = torch.zeros(batch, dtype=dtype, device=x.device)
        column_lse = torch.empty(batch, dtype=dtype, device=x.device)
        for start in range(0, batch, block):
            stop = min(start + block, batch)
            logits = scaled @ y[start:stop].T
            column_max = logits.amax(dim=0)
            column_sum = torch.sub(logits, column_max).exp_().sum(dim=0)
            torch.add(column_max, column_sum.log_(), out=column_lse[start:stop])
            _accumulate_row_logsumexp(logits, row_max, row_sum)
        row_lse = row_max + row_sum.log()
        matched = (scaled * y).sum(dim=1)
        ctx.save_for_backward(first, second, row_lse, column_lse)
        ctx.temperature = temperature
        ctx.block = block
        return 0.5 * (row_lse + column_lse) - matched

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_per_pair: Tensor) -> tuple[Tensor | None, ...]:
        first, second, row_lse, column_lse = ctx.saved_tensors
        tau = _temperature_value(ctx.temperature)
        dtype = row_lse.dtype
        x, y = first.to(dtype), second.to(dtype)
        scaled = x / tau
        half_grad = 0.5 * grad_per_pair.to(dtype)
        grad_first = torch.zeros_like(x)
        grad_second = torch.empty_like(y)
        for start in range(0, x.shape[0], ctx.block):
            stop = min(start + ctx.block, x.shape[0])
            logits = scaled @ y[start:stop].T
            row_part = (logits - row_lse.unsqueeze(1)).exp_().mul_(half_grad.unsqueeze(1))
            gradient = logits.sub_(column_lse[start:stop]).exp_()
            gradient.mul_(half_grad[start:stop]).add_(row_part)
            grad_first.addmm_(gradient, y[start:stop])
            torch.mm(gradient.T, x, out=grad_second[start:stop])
        matched_grad = grad_per_pair.to(dtype).unsqueeze(1)
        grad_first.sub_(matched_grad * y).div_(tau)
        grad_second.sub_(matched_grad * x).div_(tau)

        grad_temperature = None
        if isinstance(ctx.temperature, Tensor) and ctx.needs_input_grad[2]:
            grad_temperature = _temperature_grad(ctx.temperature, x, grad_first, tau)
        return (
            grad_first.to(first.dtype) if ctx.needs_input_grad[0] else None,
            grad_second.to(second.dtype) if ctx.needs_input_grad[1] else None,
            grad_temperature,
            None,
        )


def _accumulate_row_logsumexp(logits: Tensor, row_max: Tensor, row_sum: Tensor) -> None:
    """Online logsumexp: fold a block into the running row max and rescaled sum, in place.

    The block buffer is consumed (exponentiated in place). Rows whose entries are all -inf so far
    keep a finite shift of 0, so that exp(-inf - shift) is 0 rather than NaN.
    """
    new_max = torch.maximum(row_max, logits.amax(dim=1))
    shift = torch.where(torch.isneginf(new_max), 0.0, new_max)
    row_sum.mul_(torch.exp(row_max - shift))
    row_sum.add_(logits.sub_(shift.unsqueeze(1)).exp_().sum(dim=1))
    row_max.copy_(new_max)
