"""Symile: a contrastive loss over any number of modalities through the multilinear inner product.

Reference:
    Saporta, Puli, Goldstein, Ranganath. "Contrasting with Symile: Simple Model-Agnostic
    Representation Learning for Unlimited Modalities", NeurIPS 2024, arXiv:2411.01053. Author code:
    ``rajesh-lab/symile`` (``symile/losses.py``).

The multilinear inner product of M vectors is ``MIP(x¹, ..., x^M) = Σ_k Π_m x^m_k``. For each
anchor modality m, row i of the logits scores ``MIP(x^m_i, candidate tuple)`` over candidate tuples
of the other modalities; the positive tuple ``(x^{m'}_i)_{m'≠m}`` sits in column i and::

    L = (1/M) Σ_m CE(logit_scale · logits_m, target = i)

Negative sampling (rows of the non-anchor modalities):

- ``"n"`` (O(N)): every non-anchor modality is shuffled by its own random permutation, their
  elementwise product gives N candidate tuples and column i is replaced by the positive tuple:
  N - 1 negatives per row. With two modalities there is nothing to combine, so the single
  non-anchor modality keeps its order and the logits are ``a bᵀ``.
- ``"n_squared"``: every combination of non-anchor rows, ``N^(M-1)`` columns (N² for three
  modalities), N^(M-1) - 1 negatives per row. Column ``c = j + N·(s_2 + N·s_3 + ...)`` holds the
  tuple whose k-th non-anchor modality takes row ``(j - s_k) mod N`` (``s_1 = 0``), so columns
  ``0..N-1`` are the aligned tuples and the positive of row i is column i.

With M = 2 both variants give the logits ``a bᵀ``, and Symile is the symmetric CLIP loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.validation import (
    check_choice,
    check_embeddings,
    check_positive_float,
    check_same_shape,
    check_same_width,
)

__all__ = ["NegativeSampling", "SymileLoss", "symile", "symile_logits", "symile_zero_shot_scores"]

NegativeSampling = Literal["n", "n_squared"]

CITATION = (
    "Saporta, Puli, Goldstein, Ranganath, Contrasting with Symile: Simple Model-Agnostic "
    "Representation Learning for Unlimited Modalities, NeurIPS 2024, arXiv:2411.01053"
)


def _check_modalities(modalities: Sequence[Tensor], minimum: int, name: str) -> None:
    if len(modalities) < minimum:
        raise ValueError(f"{name} needs at least {minimum} modalities, got {len(modalities)}")
    first = modalities[0]
    for index, rep in enumerate(modalities):
        check_embeddings(rep, f"{name}[{index}]")
        check_same_shape(first, rep, f"{name}[0]", f"{name}[{index}]")


def _check_negatives(negatives: str) -> None:
    check_choice(negatives, ("n", "n_squared"), "negatives")


def _tuple_products_all(others: Sequence[Tensor]) -> Tensor:
    """Elementwise products of every combination of rows, ordered as in the module docstring."""
    n = others[0].shape[0]
    columns = torch.arange(n ** len(others), device=others[0].device)
    aligned_row = columns % n
    shifts = columns // n
    product = others[0][aligned_row]
    for other in others[1:]:
        shift = shifts % n
        shifts = shifts // n
        product = product * other[(aligned_row - shift) % n]
    return product


def symile_logits(
    anchor: Tensor,
    others: Sequence[Tensor],
    *,
    negatives: NegativeSampling = "n",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Unscaled Symile logits of one anchor modality; the positive of row i is column i.

    Args:
        anchor: anchor-modality representations.
        others: the other modalities' representations, at least one.
        negatives: ``"n"`` (N - 1 shuffled negatives) or ``"n_squared"`` (all combinations).
        generator: randomness of the ``"n"`` shuffles.

    Returns:
        Logits of shape (N, N) for ``"n"`` or (N, N^len(others)) for ``"n_squared"``.

    Shapes:
        anchor and each of ``others``: (N, D).

    Example:
        >>> a, b, c = torch.randn(3, 4, 8).unbind(0)
        >>> symile_logits(a, [b, c], negatives="n_squared").shape
        torch.Size([4, 16])
    """
    _check_negatives(negatives)
    _check_modalities([anchor, *others], 2, "modalities")
    return _logits(anchor, others, negatives, generator)


def _logits(
    anchor: Tensor,
    others: Sequence[Tensor],
    negatives: NegativeSampling,
    generator: torch.Generator | None,
) -> Tensor:
    """:func:`symile_logits` without input checks."""
    if negatives == "n_squared":
        return anchor @ _tuple_products_all(others).T
    positive_tuple = math.prod(others)
    if len(others) == 1:
        return anchor @ positive_tuple.T
    n = anchor.shape[0]
    shuffled = math.prod(
        other[torch.randperm(n, generator=generator).to(other.device)] for other in others
    )
    logits = anchor @ shuffled.T
    diagonal = torch.eye(n, dtype=torch.bool, device=anchor.device)
    return torch.where(diagonal, (anchor * positive_tuple).sum(-1).unsqueeze(0), logits)


def _checked_scale(logit_scale: float | Tensor) -> float | Tensor:
    check_positive_float(logit_scale, "logit_scale")
    return logit_scale.reshape(()) if isinstance(logit_scale, Tensor) else logit_scale


def symile(
    *modalities: Tensor,
    logit_scale: float | Tensor,
    negatives: NegativeSampling = "n",
    normalize: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Symile loss over M >= 2 modalities (Saporta et al., NeurIPS 2024, arXiv:2411.01053).

    ``L = (1/M) Σ_m CE(logit_scale · symile_logits(x^m, others), arange(N))``.

    Args:
        *modalities: one representation matrix per modality, all of the same shape.
        logit_scale: multiplicative scale > 0 (the exponential of the learned log-scale).
        negatives: ``"n"`` or ``"n_squared"`` (see :func:`symile_logits`).
        normalize: L2-normalise every representation first (as in the paper).
        generator: randomness of the ``"n"`` shuffles.

    Returns:
        Scalar loss.

    Shapes:
        each modality: (N, D), N >= 2.

    Example:
        >>> a, b, c = torch.randn(3, 16, 8).unbind(0)
        >>> symile(a, b, c, logit_scale=10.0, negatives="n_squared").shape
        torch.Size([])
    """
    _check_negatives(negatives)
    _check_modalities(modalities, 2, "modalities")
    if modalities[0].shape[0] < 2:
        raise ValueError(f"modalities need N >= 2 rows, got N={modalities[0].shape[0]}")
    scale = _checked_scale(logit_scale)
    reps = [
        rep.float() if rep.dtype in (torch.float16, torch.bfloat16) else rep for rep in modalities
    ]
    if normalize:
        reps = [F.normalize(rep, dim=-1) for rep in reps]
    targets = torch.arange(reps[0].shape[0], device=reps[0].device)
    losses = [
        F.cross_entropy(
            scale * _logits(anchor, reps[:m] + reps[m + 1 :], negatives, generator), targets
        )
        for m, anchor in enumerate(reps)
    ]
    return torch.stack(losses).mean()


def symile_zero_shot_scores(
    candidates: Tensor,
    *queries: Tensor,
    logit_scale: float | Tensor = 1.0,
    normalize: bool = True,
) -> Tensor:
    """Zero-shot scores for predicting a missing modality from the others.

    ``score[i, k] = logit_scale · MIP(q¹_i, ..., q^{M-1}_i, candidates_k)
    = logit_scale · ((q¹_i ⊙ ... ⊙ q^{M-1}_i) · candidates_k)``.

    Args:
        candidates: representations of the K candidate values of the missing modality.
        *queries: representations of the observed modalities, one (N, D) matrix each.
        logit_scale: scale > 0 (does not change the ranking).
        normalize: L2-normalise every representation first.

    Returns:
        Scores of shape (N, K); ``argmax`` over K is the prediction.

    Example:
        >>> a, b = torch.randn(2, 5, 8).unbind(0)
        >>> symile_zero_shot_scores(torch.randn(3, 8), a, b).shape
        torch.Size([5, 3])
    """
    check_embeddings(candidates, "candidates", "(K, D)")
    _check_modalities(queries, 1, "queries")
    check_same_width(queries[0], candidates, "queries[0]", "candidates")
    scale = _checked_scale(logit_scale)
    if normalize:
        candidates = F.normalize(candidates, dim=-1)
        queries = tuple(F.normalize(q, dim=-1) for q in queries)
    return scale * (math.prod(queries) @ candidates.T)


class SymileLoss(nn.Module):
    """Symile with a learned log-scale: ``forward(*modalities) -> scalar``.

    Args:
        init_log_scale: initial ``log(logit_scale)`` (author experiments: ``log(1/0.07)``; the
            XOR example uses -0.3).
        learn_scale: train the log-scale.
        negatives: ``"n"`` or ``"n_squared"``.
        normalize: L2-normalise every representation first.

    Example:
        >>> loss = SymileLoss(negatives="n")
        >>> loss(*torch.randn(3, 16, 8).unbind(0)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self,
        *,
        init_log_scale: float = math.log(1 / 0.07),
        learn_scale: bool = True,
        negatives: NegativeSampling = "n",
        normalize: bool = True,
    ) -> None:
        super().__init__()
        _check_negatives(negatives)
        if not math.isfinite(init_log_scale):
            raise ValueError(f"init_log_scale must be finite, got {init_log_scale}")
        self.log_scale = nn.Parameter(
            torch.tensor(float(init_log_scale)), requires_grad=learn_scale
        )
        self.negatives: NegativeSampling = negatives
        self.normalize = normalize

    def forward(self, *modalities: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return symile(
            *modalities,
            logit_scale=self.log_scale.exp(),
            negatives=self.negatives,
            normalize=self.normalize,
            generator=generator,
        )
