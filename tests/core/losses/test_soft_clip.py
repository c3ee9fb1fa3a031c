"""SoftCLIP against a loop written from its formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core.losses.soft_clip import SoftCLIPLoss, soft_clip, soft_clip_targets


def loop_soft_clip(a, b, tau):
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    n = a.shape[0]
    total = torch.zeros((), dtype=a.dtype)
    for i in range(n):
        target_row = torch.stack([torch.exp(b[i] @ b[j] / tau) for j in range(n)])
        target_row = target_row / target_row.sum()
        forward_row = torch.stack([a[i] @ b[j] / tau for j in range(n)])
        backward_row = torch.stack([b[i] @ a[j] / tau for j in range(n)])
        for j in range(n):
            total = total - target_row[j] * (forward_row[j] - torch.logsumexp(forward_row, 0)) / (
                2 * n
            )
            total = total - target_row[j] * (backward_row[j] - torch.logsumexp(backward_row, 0)) / (
                2 * n
            )
    return total


def test_matches_loop() -> None:
    a, b = torch.randn(2, 6, 4, dtype=torch.float64).unbind(0)
    torch.testing.assert_close(soft_clip(a, b, 0.3), loop_soft_clip(a, b, 0.3))
    torch.testing.assert_close(SoftCLIPLoss(0.3)(a, b), loop_soft_clip(a, b, 0.3))


def test_targets_are_row_stochastic() -> None:
    targets = soft_clip_targets(torch.randn(7, 3), temperature=0.125)
    assert bool((targets > 0).all())
    torch.testing.assert_close(targets.sum(1), torch.ones(7))


def test_orthogonal_targets_give_the_symmetric_clip_loss() -> None:
    # Orthonormal targets at a small temperature make the soft targets the identity.
    a = torch.randn(5, 5, dtype=torch.float64)
    b = torch.eye(5, dtype=torch.float64)
    tau = 0.01
    logits = F.normalize(a, dim=-1) @ b.T / tau
    labels = torch.arange(5)
    clip = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    torch.testing.assert_close(soft_clip(a, b, tau), clip)


def test_gradients_match_finite_differences() -> None:
    a = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: soft_clip(x, y, 0.5), (a, b))


@pytest.mark.parametrize(
    ("a", "b", "temperature", "error", "message"),
    [
        (torch.randn(4, 3), torch.randn(5, 3), 0.1, ValueError, "same shape"),
        (torch.randn(4), torch.randn(4), 0.1, ValueError, r"\(N, D\)"),
        (torch.randn(4, 3), torch.randn(4, 3), 0.0, ValueError, "temperature"),
        (torch.randn(4, 3), torch.full((4, 3), float("nan")), 0.1, ValueError, "b"),
        ([[1.0]], torch.randn(1, 1), 0.1, TypeError, "a"),
    ],
)
def test_bad_inputs_raise(a, b, temperature, error, message) -> None:
    with pytest.raises(error, match=message):
        soft_clip(a, b, temperature)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 6),
    dim=st.integers(1, 5),
    temperature=st.floats(0.05, 2.0),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_matches_loop(n, dim, temperature, seed) -> None:
    a, b = torch.randn(
        2, n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    ).unbind(0)
    torch.testing.assert_close(soft_clip(a, b, temperature), loop_soft_clip(a, b, temperature))
