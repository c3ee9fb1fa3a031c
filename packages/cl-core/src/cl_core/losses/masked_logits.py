"""The masked-logits core: the one cross-entropy over similarities that InfoNCE-style losses share.

InfoNCE / CPC (van den Oord et al., "Representation Learning with Contrastive Predictive Coding",
2018, arXiv:1807.03748), NT-Xent (Chen et al., "A Simple Framework for Contrastive Learning of
Visual Representations", 2020, arXiv:2002.05709), CLIP (Radford et al., "Learning Transferable
Visual Models From Natural Language Supervision", 2021, arXiv:2103.00020), SupCon (Khosla et al.,
"Supervised Contrastive Learning", 2020, arXiv:2004.11362) and DCL (Yeh et al., "Decoupled
Contrastive Learning", 2022, arXiv:2110.06848) differ only in which columns of the
anchor-candidate similarity matrix are positives, which are negatives, which are left out, and
whether the positives sit in the denominator. This module computes all of them from one formula.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from cl_core.losses._autocast import full_precision
from cl_core.losses._reduction import Reduction, reduce_losses
from cl_core.validation import (
    check_masked_logits_inputs,
    check_rows_have_negative,
)

#: Above this many logits (N * M) the core streams over candidate blocks (``cl_core.losses.tiled``)
#: instead of materialising the (N, M) matrix, unless a dense (N, M) argument forces the dense path.
AUTO_TILE_ELEMENTS = 4096 * 4096

DenominatorMode = Literal["all", "self", "none"]

_HALF_DTYPES = (torch.float16, torch.bfloat16)


@full_precision
def masked_logits_loss(
    anchors: Tensor,
    candidates: Tensor,
    *,
    temperature: float | Tensor,
    positive_index: Tensor | None = None,
    anchor_labels: Tensor | None = None,
    candidate_labels: Tensor | None = None,
    positive_mask: Tensor | None = None,
    exclude_index: Tensor | None = None,
    negative_mask: Tensor | None = None,
    log_weights: Tensor | None = None,
    positives_in_denominator: DenominatorMode = "all",
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
) -> Tensor:
    r"""Contrastive cross-entropy of anchors against candidates with masked positives and negatives.

    With logits :math:`s_{ij} = \langle a_i, c_j\rangle / \tau`, positive columns :math:`P(i)` and
    negative columns :math:`\mathrm{Neg}(i)` of row :math:`i`, the per-row loss is

    .. math::

        \ell_i = \frac{1}{|P(i)|} \sum_{p \in P(i)} \Big[
            \operatorname{LSE}_{a \in \mathrm{Den}(i, p)} (s_{ia} + \log w_{ia}) - s_{ip} \Big]

    with :math:`\mathrm{Den}(i,p) = \mathrm{Neg}(i) \cup P(i)` for ``"all"`` (InfoNCE, NT-Xent,
    CLIP, SupCon :math:`\mathcal{L}^{sup}_{out}`), :math:`\mathrm{Neg}(i) \cup \{p\}` for ``"self"``
    (each positive scored against itself plus the negatives, as in Hydra's multi-positive
    cross-entropy) and :math:`\mathrm{Neg}(i)` for ``"none"`` (DCL, MEOW). The log-weights
    :math:`\log w` apply to negatives only (positives have weight 1); ``-inf`` drops a term. Logits
    are computed in at least float32 (bf16/fp16 inputs are upcast) and reduced with ``logsumexp``,
    never with ``exp`` of raw logits. Inputs are not normalised here; the public wrappers normalise.

    Positives come from exactly one of ``positive_index`` (one column per row; the fast path, which
    builds no (N, M) mask), ``anchor_labels`` + ``candidate_labels`` (columns with the same label)
    or ``positive_mask``. The column ``exclude_index[i]`` is removed from numerator and denominator
    (self-similarity in NT-Xent / SupCon) and is never a positive. Negatives are all other columns,
    or those of them that ``negative_mask`` marks.

    When ``chunk_size`` is given, or ``N * M > AUTO_TILE_ELEMENTS``, and no dense (N, M) argument
    (``positive_mask``, ``negative_mask``, ``log_weights``) is given, the loss is computed by
    :func:`cl_core.losses.tiled.tiled_masked_logits_loss`, which streams over candidate blocks.
    With a dense argument the dense path is used and ``chunk_size`` has no effect.

    Args:
        anchors: Anchor embeddings, shape (N, D).
        candidates: Candidate embeddings, shape (M, D).
        temperature: :math:`\tau > 0`, a float or a 0-dim tensor (may be learnable).
        positive_index: (N,) integer tensor, the single positive column of each row.
        anchor_labels: (N,) integer labels; positives are columns with the same candidate label.
        candidate_labels: (M,) integer labels, given together with ``anchor_labels``.
        positive_mask: (N, M) bool tensor of positive columns.
        exclude_index: (N,) integer tensor, one column per row to remove; -1 removes none.
        negative_mask: (N, M) bool tensor; which non-positive, non-excluded columns are negatives.
        log_weights: (N, M) float tensor added to the logits of negative terms in the denominator.
        positives_in_denominator: ``"all"``, ``"self"`` or ``"none"`` (see the formula).
        reduction: ``"mean"`` or ``"sum"`` over rows, or ``"none"`` for the (N,) per-row losses.
        chunk_size: Candidate block size for the tiled path; None lets the size decide.

    Returns:
        A scalar (``"mean"``/``"sum"``) or an (N,) tensor (``"none"``), float32 for fp16/bf16/fp32
        inputs and float64 for float64 inputs.

    Raises:
        ValueError: A row has no positive column, a ``"none"`` row has no negative column, shapes
            or values are invalid, or not exactly one source of positives is given.
        TypeError: Wrong tensor dtypes.

    Example:
        >>> import torch
        >>> a, c = torch.randn(4, 8), torch.randn(6, 8)
        >>> index = torch.tensor([0, 1, 2, 3])
        >>> masked_logits_loss(a, c, temperature=0.1, positive_index=index).shape
        torch.Size([])
    """
    check_masked_logits_inputs(
        anchors,
        candidates,
        temperature=temperature,
        positive_index=positive_index,
        anchor_labels=anchor_labels,
        candidate_labels=candidate_labels,
        positive_mask=positive_mask,
        exclude_index=exclude_index,
        negative_mask=negative_mask,
        log_weights=log_weights,
        positives_in_denominator=positives_in_denominator,
        reduction=reduction,
        chunk_size=chunk_size,
    )
    num_anchors, num_candidates = anchors.shape[0], candidates.shape[0]
    has_dense_argument = (
        positive_mask is not None or negative_mask is not None or log_weights is not None
    )
    wants_tiling = chunk_size is not None or num_anchors * num_candidates > AUTO_TILE_ELEMENTS
    if wants_tiling and not has_dense_argument:
        from cl_core.losses.tiled import tiled_loss_unchecked

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

    logits = _scaled_logits(anchors, candidates, temperature)
    if positive_index is not None:
        positive_index = positive_index.long()
    if exclude_index is not None:
        exclude_index = exclude_index.long()
    if positive_index is not None and not has_dense_argument:
        per_row = _single_positive_losses(
            logits, positive_index, exclude_index, positives_in_denominator
        )
    else:
        positives = _dense_positive_mask(
            logits.shape,
            positive_index=positive_index,
            anchor_labels=anchor_labels,
            candidate_labels=candidate_labels,
            positive_mask=positive_mask,
            device=logits.device,
        )
        excluded = _dense_exclude_mask(logits.shape, exclude_index, logits.device)
        per_row = _dense_losses(
            logits, positives, excluded, negative_mask, log_weights, positives_in_denominator
        )
    return reduce_losses(per_row, reduction)


def compute_dtype(first: Tensor, second: Tensor) -> torch.dtype:
    """The dtype logits are computed in: float32 for half / single inputs, float64 for float64."""
    dtype = torch.promote_types(first.dtype, second.dtype)
    return torch.float32 if dtype in _HALF_DTYPES else dtype


def _scaled_logits(anchors: Tensor, candidates: Tensor, temperature: float | Tensor) -> Tensor:
    """Return ``anchors @ candidates.T / temperature`` in float32 or wider (fp16/bf16 upcast)."""
    dtype = compute_dtype(anchors, candidates)
    if isinstance(temperature, Tensor):
        temperature = temperature.to(dtype).reshape(())
    # Dividing the (N, D) anchors instead of the (N, M) product saves a full pass over the logits.
    return (anchors.to(dtype) / temperature) @ candidates.to(dtype).T


def _single_positive_losses(
    logits: Tensor, positive_index: Tensor, exclude_index: Tensor | None, mode: DenominatorMode
) -> Tensor:
    """Per-row loss with one positive per row: masked cross-entropy or logsumexp, no (N, M) mask."""
    rows = torch.arange(logits.shape[0], device=logits.device)
    drop_rows: list[Tensor] = []
    drop_columns: list[Tensor] = []
    if exclude_index is not None:
        kept = exclude_index >= 0
        drop_rows.append(rows[kept])
        drop_columns.append(exclude_index[kept])
    if mode == "none":
        drop_rows.append(rows)
        drop_columns.append(positive_index)
    denominator = logits
    if drop_rows:
        minus_inf = torch.tensor(float("-inf"), dtype=logits.dtype, device=logits.device)
        denominator = logits.index_put((torch.cat(drop_rows), torch.cat(drop_columns)), minus_inf)
    if mode == "all":
        # Same value as logsumexp - positive logit, from one fused kernel.
        return torch.nn.functional.cross_entropy(denominator, positive_index, reduction="none")
    log_denominator = torch.logsumexp(denominator, dim=1)
    if mode == "none":
        check_rows_have_negative(log_denominator)
    return log_denominator - logits.gather(1, positive_index.unsqueeze(1)).squeeze(1)


def _dense_positive_mask(
    shape: torch.Size,
    *,
    positive_index: Tensor | None,
    anchor_labels: Tensor | None,
    candidate_labels: Tensor | None,
    positive_mask: Tensor | None,
    device: torch.device,
) -> Tensor:
    """The (N, M) bool mask of positive columns from whichever source was given."""
    if positive_mask is not None:
        return positive_mask.to(device)
    if positive_index is not None:
        mask = torch.zeros(shape, dtype=torch.bool, device=device)
        return mask.scatter(1, positive_index.unsqueeze(1).to(device), True)
    return anchor_labels.to(device).unsqueeze(1) == candidate_labels.to(device).unsqueeze(0)


def _dense_exclude_mask(
    shape: torch.Size, exclude_index: Tensor | None, device: torch.device
) -> Tensor | None:
    """The (N, M) bool mask of excluded columns, or None when nothing is excluded."""
    if exclude_index is None:
        return None
    kept = exclude_index >= 0
    rows = torch.arange(shape[0], device=device)[kept]
    mask = torch.zeros(shape, dtype=torch.bool, device=device)
    return mask.index_put((rows, exclude_index[kept]), torch.tensor(True, device=device))


def _dense_losses(
    logits: Tensor,
    positives: Tensor,
    excluded: Tensor | None,
    negative_mask: Tensor | None,
    log_weights: Tensor | None,
    mode: DenominatorMode,
) -> Tensor:
    """Per-row loss from dense (N, M) positive / negative masks and optional log-weights."""
    if excluded is not None:
        positives = positives & ~excluded
    positive_counts = positives.sum(dim=1)
    rows_without_positive = int((positive_counts == 0).sum())
    if rows_without_positive:
        raise ValueError(
            f"every anchor row needs at least one positive column; {rows_without_positive} of "
            f"{logits.shape[0]} rows have none"
        )
    negatives = ~positives if negative_mask is None else negative_mask & ~positives
    if excluded is not None:
        negatives = negatives & ~excluded
    negative_logits = logits if log_weights is None else logits + log_weights.to(logits.dtype)
    minus_inf = torch.tensor(float("-inf"), dtype=logits.dtype, device=logits.device)
    positive_mean = torch.where(positives, logits, 0.0).sum(dim=1) / positive_counts

    if mode == "all":
        denominator = torch.where(
            negatives, negative_logits, torch.where(positives, logits, minus_inf)
        )
        return torch.logsumexp(denominator, dim=1) - positive_mean
    log_negatives = torch.logsumexp(torch.where(negatives, negative_logits, minus_inf), dim=1)
    if mode == "none":
        check_rows_have_negative(log_negatives)
        return log_negatives - positive_mean
    per_pair = torch.logaddexp(log_negatives.unsqueeze(1), logits) - logits
    return torch.where(positives, per_pair, 0.0).sum(dim=1) / positive_counts
