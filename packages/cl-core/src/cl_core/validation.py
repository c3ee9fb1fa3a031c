"""Input checks shared by every public loss and metric.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong shape,
range or value) with a message that names the argument, says what was expected and what was
received.
The checks are cheap: shape checks read metadata only, and a tensor's values are scanned at most
once (one fused ``isfinite`` reduction).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

REDUCTIONS = ("mean", "sum", "none")


def check_is_tensor(value: object, name: str) -> None:
    """Raise ``TypeError`` unless ``value`` is a ``torch.Tensor``."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")


def check_tensor_dim(tensor: object, ndim: int, name: str, shape: str) -> None:
    """Raise unless ``tensor`` is a tensor of rank ``ndim``; ``shape`` reads like ``"(N, D)"``."""
    check_is_tensor(tensor, name)
    if tensor.dim() != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D tensor of shape {shape}, got shape {tuple(tensor.shape)}"
        )


def check_floating(tensor: Tensor, name: str) -> None:
    """Raise ``TypeError`` unless ``tensor`` holds floating-point values."""
    if not tensor.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {tensor.dtype}")


def check_nonempty(tensor: Tensor, name: str, shape: str) -> None:
    """Raise ``ValueError`` if a dimension of ``tensor`` has size zero (empty batch or width)."""
    if tensor.numel() == 0:
        raise ValueError(
            f"{name} must be non-empty with shape {shape}, got shape {tuple(tensor.shape)}"
        )


def check_finite(tensor: Tensor, name: str) -> None:
    """Raise ``ValueError`` if ``tensor`` holds NaN or ±inf (one fused reduction)."""
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} must be finite, got a tensor holding NaN or inf")


def check_embeddings(tensor: object, name: str, shape: str = "(N, D)", ndim: int = 2) -> None:
    """Check an embedding batch: a non-empty, finite, floating tensor of rank ``ndim``."""
    check_tensor_dim(tensor, ndim, name, shape)
    check_floating(tensor, name)
    check_nonempty(tensor, name, shape)
    check_finite(tensor, name)


def check_same_shape(first: Tensor, second: Tensor, first_name: str, second_name: str) -> None:
    """Raise ``ValueError`` unless the two tensors have the same shape (same batch and width)."""
    if first.shape != second.shape:
        raise ValueError(
            f"{first_name} and {second_name} must have the same shape, got {tuple(first.shape)} "
            f"and {tuple(second.shape)}"
        )


def check_same_width(first: Tensor, second: Tensor, first_name: str, second_name: str) -> None:
    """Raise ``ValueError`` unless the last dimensions (embedding widths D) agree."""
    if first.shape[-1] != second.shape[-1]:
        raise ValueError(
            f"{second_name} must have the same embedding width D={first.shape[-1]} as "
            f"{first_name}, got shape {tuple(second.shape)}"
        )


def check_positive_float(value: float | Tensor, name: str) -> None:
    """Raise unless ``value`` is a finite number > 0 (a Python number or a one-element tensor)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"{name} must be a scalar (0-dim or one-element tensor), got shape "
                f"{tuple(value.shape)}"
            )
        number = float(value.detach())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise TypeError(f"{name} must be a float or a scalar tensor, got {type(value).__name__}")
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {number}")


def check_temperature(temperature: float | Tensor) -> None:
    """Raise unless ``temperature`` is a finite number > 0 (float or scalar tensor)."""
    check_positive_float(temperature, "temperature")


def check_labels(labels: object, length: int, name: str) -> None:
    """Raise unless ``labels`` is a 1-D integer tensor of the given length."""
    check_tensor_dim(labels, 1, name, f"({length},)")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape[0] != length:
        raise ValueError(f"{name} must have length {length}, got shape {tuple(labels.shape)}")


def check_index(
    index: object, length: int, upper: int, name: str, *, allow_minus_one: bool = False
) -> None:
    """Raise unless ``index`` is a (length,) integer tensor with entries in ``[0, upper)``.

    With ``allow_minus_one`` the value -1 (meaning "none") is accepted too.
    """
    check_labels(index, length, name)
    if index.numel() == 0:
        return
    low = -1 if allow_minus_one else 0
    smallest, largest = int(index.min()), int(index.max())
    if smallest < low or largest >= upper:
        allowed = f"[{low}, {upper})"
        raise ValueError(
            f"{name} entries must lie in {allowed}, got values in [{smallest}, {largest}]"
        )


def check_dense_mask(mask: object, shape: tuple[int, int], name: str) -> None:
    """Raise unless ``mask`` is a boolean tensor of the given (N, M) shape."""
    check_tensor_dim(mask, 2, name, f"{shape}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor, got dtype {mask.dtype}")
    if tuple(mask.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(mask.shape)}")


def check_num_views(num_views: int, name: str) -> None:
    """Raise ``ValueError`` unless there are at least two views (V >= 2)."""
    if num_views < 2:
        raise ValueError(f"{name} must hold at least 2 views (V >= 2), got V={num_views}")


def check_choice(value: object, choices: Iterable[str], name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")


def check_reduction(reduction: object) -> None:
    """Raise ``ValueError`` unless ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``."""
    check_choice(reduction, REDUCTIONS, "reduction")


def check_chunk_size(chunk_size: object) -> None:
    """Raise unless ``chunk_size`` is None or a positive int."""
    if chunk_size is None:
        return
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool):
        raise TypeError(f"chunk_size must be an int or None, got {type(chunk_size).__name__}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")


DENOMINATOR_MODES = ("all", "self", "none")


def check_rows_have_positive(positive_count: Tensor) -> None:
    """Every anchor row of a contrastive loss needs at least one positive column."""
    rows_without_positive = int((positive_count == 0).sum())
    if rows_without_positive:
        raise ValueError(
            f"every anchor row needs at least one positive column; {rows_without_positive} of "
            f"{positive_count.shape[0]} rows have none"
        )


def check_rows_have_negative(log_negatives: Tensor) -> None:
    """With the positives left out of the denominator, an empty denominator has no defined loss."""
    rows_without_negative = int(torch.isneginf(log_negatives).sum())
    if rows_without_negative:
        raise ValueError(
            'positives_in_denominator="none" needs at least one negative column per row; '
            f"{rows_without_negative} of {log_negatives.shape[0]} rows have none"
        )


def check_masked_logits_inputs(
    anchors: Tensor,
    candidates: Tensor,
    *,
    temperature: float | Tensor,
    positive_index: Tensor | None,
    anchor_labels: Tensor | None,
    candidate_labels: Tensor | None,
    positive_mask: Tensor | None = None,
    exclude_index: Tensor | None,
    negative_mask: Tensor | None = None,
    log_weights: Tensor | None = None,
    positives_in_denominator: str,
    reduction: str,
    chunk_size: int | None,
) -> None:
    """Validate the arguments of the masked-logits core, dense or tiled.

    See :func:`cl_core.losses.masked_logits_loss` for the contract; the tiled engine takes no dense
    (N, M) argument and leaves those None.
    """
    check_embeddings(anchors, "anchors", "(N, D)")
    check_embeddings(candidates, "candidates", "(M, D)")
    check_same_width(anchors, candidates, "anchors", "candidates")
    check_temperature(temperature)
    check_choice(positives_in_denominator, DENOMINATOR_MODES, "positives_in_denominator")
    check_reduction(reduction)
    check_chunk_size(chunk_size)
    num_anchors, num_candidates = anchors.shape[0], candidates.shape[0]
    shape = (num_anchors, num_candidates)

    has_labels = anchor_labels is not None or candidate_labels is not None
    sources = sum((positive_index is not None, has_labels, positive_mask is not None))
    if sources != 1:
        raise ValueError(
            "give exactly one source of positives: positive_index, anchor_labels + "
            f"candidate_labels, or positive_mask; got {sources}"
        )
    if has_labels:
        if anchor_labels is None or candidate_labels is None:
            raise ValueError("anchor_labels and candidate_labels must be given together")
        check_labels(anchor_labels, num_anchors, "anchor_labels")
        check_labels(candidate_labels, num_candidates, "candidate_labels")
    if positive_index is not None:
        check_index(positive_index, num_anchors, num_candidates, "positive_index")
    if positive_mask is not None:
        check_dense_mask(positive_mask, shape, "positive_mask")
    if negative_mask is not None:
        check_dense_mask(negative_mask, shape, "negative_mask")
    if exclude_index is not None:
        check_index(
            exclude_index, num_anchors, num_candidates, "exclude_index", allow_minus_one=True
        )
        if positive_index is not None and bool((positive_index == exclude_index).any()):
            raise ValueError("positive_index and exclude_index must differ in every row")
    if log_weights is not None:
        check_tensor_dim(log_weights, 2, "log_weights", f"{shape}")
        check_floating(log_weights, "log_weights")
        if tuple(log_weights.shape) != shape:
            raise ValueError(f"log_weights must have shape {shape}, got {tuple(log_weights.shape)}")
        if not bool((log_weights < float("inf")).all()):
            raise ValueError("log_weights must be < +inf and not NaN (-inf drops a term)")
