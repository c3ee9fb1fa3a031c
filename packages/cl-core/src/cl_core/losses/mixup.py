"""M3Co: multimodal mixup contrastive loss with soft targets.

Reference:
    Kumar, Singhal, Kulkarni, Mehta, Jadhav. "Harnessing Shared Relations via Multimodal Mixup
    Contrastive Learning for Multimodal Classification" (M3CoL), TMLR, arXiv:2409.17777. Author
    code: ``RaghavSinghal10/M3CoL`` (``model/utils.py``: ``mixco_*``, ``mixco_nce``). The mixing
    scheme follows MixCo (Kim et al., "MixCo: Mix-up Contrastive Learning for Visual
    Representation", 2020, arXiv:2010.06300).

Modality A is mixed within the batch and contrasted against the fixed modality B::

    m_i  = w_i a_i + (1 - w_i) a_{π(i)}                 π a random permutation
    w_i  ~ Beta(α, α) with probability p, else w_i = 1  (α = 0.15, p = 0.5)
    t_ii += w_i,  t_{iπ(i)} += 1 - w_i                  soft targets, rows sum to 1
    L_→  = -mean_i Σ_j t_ij log softmax_j(cos(m_i, b_j) / τ)
    L    = (L_→ + L_←) / 2,  L_← the same with the logits and targets transposed;  τ = 0.1

In M3CoL the loss is applied twice per step (A mixed against B and B mixed against A) and summed.
Unlike the author code, targets are accumulated, so a row with ``π(i) = i`` still sums to 1.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.validation import (
    check_embeddings,
    check_is_tensor,
    check_positive_float,
    check_same_shape,
    check_temperature,
    check_tensor_dim,
)

__all__ = ["M3CoLoss", "MixupBatch", "m3co", "m3co_loss", "m3co_soft_targets", "mixco_mix"]

CITATION = (
    "Kumar, Singhal et al., Harnessing Shared Relations via Multimodal Mixup Contrastive Learning "
    "for Multimodal Classification, TMLR, arXiv:2409.17777"
)


class MixupBatch(NamedTuple):
    """A batch mixed with its own permutation.

    Attributes:
        mixed: ``w_i x_i + (1 - w_i) x_{π(i)}``, the shape of the input.
        permutation: π, shape (N,).
        weights: w, shape (N,), in [0, 1] (1 for unmixed rows).
    """

    mixed: Tensor
    permutation: Tensor
    weights: Tensor


def _check_mix_options(beta_alpha: float, mix_prob: float) -> None:
    check_positive_float(beta_alpha, "beta_alpha")
    if not 0.0 <= mix_prob <= 1.0:
        raise ValueError(f"mix_prob must lie in [0, 1], got {mix_prob}")


def mixco_mix(
    x: Tensor,
    *,
    beta_alpha: float = 0.15,
    mix_prob: float = 0.5,
    generator: torch.Generator | None = None,
) -> MixupBatch:
    """Mix every row of ``x`` with a random partner row, with probability ``mix_prob``.

    Weights are drawn from Beta(α, α) by inverting its CDF (``scipy.special.betaincinv``) at
    uniforms from ``generator``, so the draw is reproducible with a ``torch.Generator``. ``x`` is
    not modified.

    Args:
        x: a batch of inputs or embeddings, any shape (N, ...), N >= 1.
        beta_alpha: α > 0 of Beta(α, α) (M3CoL: 0.15).
        mix_prob: probability that a row is mixed, in [0, 1] (M3CoL: 0.5).
        generator: a CPU ``torch.Generator`` (the draws are moved to ``x``'s device).

    Returns:
        :class:`MixupBatch` ``(mixed, permutation, weights)``.

    Example:
        >>> batch = mixco_mix(torch.randn(6, 4), generator=torch.Generator().manual_seed(0))
        >>> batch.mixed.shape, batch.permutation.shape, batch.weights.shape
        (torch.Size([6, 4]), torch.Size([6]), torch.Size([6]))
    """
    from scipy.special import betaincinv

    check_is_tensor(x, "x")
    if x.dim() < 1 or x.shape[0] < 1:
        raise ValueError(f"x must have a non-empty batch dimension, got shape {tuple(x.shape)}")
    _check_mix_options(beta_alpha, mix_prob)
    n = x.shape[0]
    permutation = torch.randperm(n, generator=generator)
    uniforms = torch.rand(n, generator=generator, dtype=torch.float64)
    beta_draws = torch.from_numpy(betaincinv(beta_alpha, beta_alpha, uniforms.numpy()))
    selected = torch.rand(n, generator=generator) < mix_prob
    weights = torch.where(selected, beta_draws, torch.ones_like(beta_draws))
    weights = weights.to(device=x.device, dtype=x.dtype if x.is_floating_point() else torch.float32)
    permutation = permutation.to(x.device)
    w = weights.reshape(-1, *([1] * (x.dim() - 1)))
    mixed = w * x + (1 - w) * x[permutation]
    return MixupBatch(mixed, permutation, weights)


def m3co_soft_targets(permutation: Tensor, weights: Tensor) -> Tensor:
    """Soft targets ``t_ii += w_i, t_{iπ(i)} += 1 - w_i`` (each row sums to 1).

    Args:
        permutation: π, a permutation of ``0..N-1``, shape (N,).
        weights: w in [0, 1], shape (N,).

    Returns:
        (N, N) targets in the dtype of ``weights``.

    Example:
        >>> m3co_soft_targets(torch.tensor([1, 0]), torch.tensor([0.75, 1.0]))
        tensor([[0.7500, 0.2500],
                [0.0000, 1.0000]])
    """
    check_tensor_dim(permutation, 1, "permutation", "(N,)")
    check_tensor_dim(weights, 1, "weights", "(N,)")
    n = permutation.shape[0]
    if weights.shape[0] != n:
        raise ValueError(f"weights must have shape ({n},), got {tuple(weights.shape)}")
    if not torch.equal(permutation.sort().values, torch.arange(n, device=permutation.device)):
        raise ValueError(f"permutation must be a permutation of 0..{n - 1}")
    if not bool(((weights >= 0) & (weights <= 1)).all()):
        raise ValueError("weights must lie in [0, 1]")
    rows = torch.arange(n, device=weights.device)
    targets = torch.diag(weights)
    return targets.index_put((rows, permutation.to(weights.device)), 1 - weights, accumulate=True)


def m3co_loss(
    mixed: Tensor,
    fixed: Tensor,
    permutation: Tensor,
    weights: Tensor,
    *,
    temperature: float = 0.1,
    bidirectional: bool = True,
) -> Tensor:
    """M3Co loss of mixed embeddings against the other modality's embeddings.

    Args:
        mixed: embeddings of the mixed modality A (from a :class:`MixupBatch`).
        fixed: embeddings of the fixed modality B.
        permutation: π used for the mixing.
        weights: mixing weights w.
        temperature: τ > 0 (M3CoL: 0.1).
        bidirectional: average with the transposed direction (as in M3CoL).

    Returns:
        Scalar loss.

    Shapes:
        mixed, fixed: (N, D); permutation, weights: (N,).

    Example:
        >>> a, b = torch.randn(8, 16), torch.randn(8, 16)
        >>> batch = mixco_mix(a)
        >>> m3co_loss(batch.mixed, b, batch.permutation, batch.weights).shape
        torch.Size([])
    """
    check_embeddings(mixed, "mixed")
    check_embeddings(fixed, "fixed")
    check_same_shape(mixed, fixed, "mixed", "fixed")
    check_temperature(temperature)
    if permutation.shape != (mixed.shape[0],):
        raise ValueError(
            f"permutation must have shape ({mixed.shape[0]},), got {tuple(permutation.shape)}"
        )
    mixed, fixed = (
        x.float() if x.dtype in (torch.float16, torch.bfloat16) else x for x in (mixed, fixed)
    )
    targets = m3co_soft_targets(permutation, weights.to(mixed.dtype))
    logits = F.normalize(mixed, dim=-1) @ F.normalize(fixed, dim=-1).T / temperature
    loss = -(targets * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
    if bidirectional:
        reverse = -(targets.T * torch.log_softmax(logits.T, dim=-1)).sum(-1).mean()
        loss = (loss + reverse) / 2
    return loss


def m3co(
    a: Tensor,
    b: Tensor,
    *,
    temperature: float = 0.1,
    beta_alpha: float = 0.15,
    mix_prob: float = 0.5,
    bidirectional: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Mix the embeddings ``a`` and contrast them with ``b``: :func:`mixco_mix` + :func:`m3co_loss`.

    To mix raw inputs instead (as M3CoL does for non-text modalities), call :func:`mixco_mix`
    on the inputs, encode ``mixed`` and call :func:`m3co_loss`.

    Args:
        a: embeddings of the modality to mix.
        b: embeddings of the fixed modality.
        temperature: τ > 0 (M3CoL: 0.1).
        beta_alpha: α of Beta(α, α) (M3CoL: 0.15).
        mix_prob: probability that a row is mixed (M3CoL: 0.5); 0 disables mixing.
        bidirectional: average with the transposed direction.
        generator: source of randomness.

    Returns:
        Scalar loss.

    Shapes:
        a, b: (N, D).

    Example:
        >>> a, b = torch.randn(8, 16), torch.randn(8, 16)
        >>> (m3co(a, b) + m3co(b, a)).shape
        torch.Size([])
    """
    check_tensor_dim(a, 2, "a", "(N, D)")
    batch = mixco_mix(a, beta_alpha=beta_alpha, mix_prob=mix_prob, generator=generator)
    return m3co_loss(
        batch.mixed,
        b,
        batch.permutation,
        batch.weights,
        temperature=temperature,
        bidirectional=bidirectional,
    )


class M3CoLoss(nn.Module):
    """Module form of :func:`m3co`. ``forward(a (N, D), b (N, D), generator=None) -> scalar``.

    Example:
        >>> M3CoLoss()(torch.randn(8, 16), torch.randn(8, 16)).shape
        torch.Size([])
    """

    citation = CITATION

    def __init__(
        self,
        *,
        temperature: float = 0.1,
        beta_alpha: float = 0.15,
        mix_prob: float = 0.5,
        bidirectional: bool = True,
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        _check_mix_options(beta_alpha, mix_prob)
        self.temperature = temperature
        self.beta_alpha = beta_alpha
        self.mix_prob = mix_prob
        self.bidirectional = bidirectional

    def forward(self, a: Tensor, b: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return m3co(
            a,
            b,
            temperature=self.temperature,
            beta_alpha=self.beta_alpha,
            mix_prob=self.mix_prob,
            bidirectional=self.bidirectional,
            generator=generator,
        )
