"""Method losses against the papers' formulas: supervised SimCSE / ViCLSR, unsupervised SimCSE."""

from __future__ import annotations

import math

import pytest
import torch

from cl_text.methods import (
    METHODS,
    hard_negative_info_nce,
    in_batch_info_nce,
    method_loss,
    method_spec,
)


def cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b) / (a.norm() * b.norm())


def viclsr_reference(h, pos, neg, tau):
    """-log e^{s(h,h+)/t} / sum_j (e^{s(h,h_j+)/t} + e^{s(h,h_j-)/t}), averaged over the batch."""
    total = h.new_zeros(())
    for i in range(h.shape[0]):
        numerator = torch.exp(cos(h[i], pos[i]) / tau)
        denominator = sum(
            torch.exp(cos(h[i], pos[j]) / tau) + torch.exp(cos(h[i], neg[j]) / tau)
            for j in range(h.shape[0])
        )
        total = total - torch.log(numerator / denominator)
    return total / h.shape[0]


def simcse_reference(z1, z2, tau):
    total = z1.new_zeros(())
    for i in range(z1.shape[0]):
        numerator = torch.exp(cos(z1[i], z2[i]) / tau)
        denominator = sum(torch.exp(cos(z1[i], z2[j]) / tau) for j in range(z1.shape[0]))
        total = total - torch.log(numerator / denominator)
    return total / z1.shape[0]


def test_supervised_loss_matches_the_viclsr_formula() -> None:
    h, pos, neg = (torch.randn(5, 7, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(
        hard_negative_info_nce(h, pos, neg, temperature=0.05), viclsr_reference(h, pos, neg, 0.05)
    )


def test_unsupervised_loss_matches_the_simcse_formula() -> None:
    z1, z2 = torch.randn(6, 5, dtype=torch.float64), torch.randn(6, 5, dtype=torch.float64)
    torch.testing.assert_close(
        in_batch_info_nce(z1, z2, temperature=0.1), simcse_reference(z1, z2, 0.1)
    )


def test_supervised_loss_gradcheck() -> None:
    inputs = tuple(torch.randn(3, 4, dtype=torch.float64, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(
        lambda a, p, n: hard_negative_info_nce(a, p, n, temperature=0.5), inputs
    )


def test_hard_negative_equal_to_positive_raises_the_loss() -> None:
    # Property (SimCSE): a contradiction that looks like the positive makes the task harder; a
    # negative identical to the positive ties with it, so every term is at least log 2.
    pos = torch.randn(8, 16)
    easy = hard_negative_info_nce(pos, pos, -pos, temperature=0.05)
    hard = hard_negative_info_nce(pos, pos, pos.clone(), temperature=0.05)
    assert hard >= math.log(2) - 1e-6
    assert easy < hard


def test_method_registry() -> None:
    assert set(METHODS) == {"simcse", "simcse-sup", "debcse", "whitenedcse", "viclsr"}
    assert method_spec("whitenedcse").views_per_sentence == 3
    assert method_loss("viclsr", 384) is hard_negative_info_nce
    with pytest.raises(ValueError, match="method must be one of"):
        method_spec("simclr")
    with pytest.raises(ValueError, match="divisible by 6"):
        method_loss("whitenedcse", 100)


def test_bad_negative_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match="negatives"):
        hard_negative_info_nce(
            torch.randn(4, 8), torch.randn(4, 8), torch.randn(3, 8), temperature=0.1
        )
