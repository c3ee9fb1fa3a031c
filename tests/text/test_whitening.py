"""Shuffled group whitening and the WhitenedCSE loss against loop references (ACL 2023)."""

from __future__ import annotations

import pytest
import torch

from cl_text.whitening import (
    ShuffledGroupWhitening,
    shuffled_group_whitening,
    whitened_cse_loss,
)


def reference_sgw(x: torch.Tensor, num_groups: int, permutation: torch.Tensor, eps: float):
    """Group by group, as the paper's steps 1-5, with an explicit inverse square root."""
    out = torch.empty_like(x)
    size = x.shape[1] // num_groups
    for g in range(num_groups):
        dims = permutation[g * size : (g + 1) * size]
        block = x[:, dims] - x[:, dims].mean(dim=0)
        cov = block.T @ block / x.shape[0] + eps * torch.eye(size, dtype=x.dtype)
        values, vectors = torch.linalg.eigh(cov)
        whitening = vectors @ torch.diag(values**-0.5) @ vectors.T
        out[:, dims] = block @ whitening
    return out


def reference_info_nce(q: torch.Tensor, p: torch.Tensor, tau: float) -> torch.Tensor:
    q = q / q.norm(dim=1, keepdim=True)
    p = p / p.norm(dim=1, keepdim=True)
    total = q.new_zeros(())
    for i in range(q.shape[0]):
        logits = [(q[i] @ p[j]) / tau for j in range(p.shape[0])]
        total = total - (logits[i] - torch.logsumexp(torch.stack(logits), dim=0))
    return total / q.shape[0]


def test_matches_loop_reference_with_the_same_permutation() -> None:
    x = torch.randn(40, 12, dtype=torch.float64)
    permutation = torch.randperm(12, generator=torch.Generator().manual_seed(3))
    ours = shuffled_group_whitening(x, 3, eps=1e-6, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(ours, reference_sgw(x, 3, permutation, 1e-6))


def test_each_shuffled_group_has_identity_covariance() -> None:
    x = torch.randn(500, 12, dtype=torch.float64) @ torch.randn(12, 12, dtype=torch.float64)
    permutation = torch.randperm(12, generator=torch.Generator().manual_seed(1))
    y = shuffled_group_whitening(x, 4, eps=0.0, generator=torch.Generator().manual_seed(1))
    for g in range(4):
        block = y[:, permutation[3 * g : 3 * g + 3]]
        torch.testing.assert_close(block.T @ block / 500, torch.eye(3, dtype=torch.float64))


def test_unshuffling_restores_the_dimension_order() -> None:
    # With one group the whitening is a full ZCA, which commutes with permuting dimensions: the
    # output must not depend on the shuffle once it is undone.
    x = torch.randn(100, 6, dtype=torch.float64) @ torch.randn(6, 6, dtype=torch.float64)
    a = shuffled_group_whitening(x, 1, eps=0.0, generator=torch.Generator().manual_seed(0))
    b = shuffled_group_whitening(x, 1, eps=0.0, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b)


def test_gradcheck_float64() -> None:
    x = torch.randn(10, 4, dtype=torch.float64, requires_grad=True)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return shuffled_group_whitening(t, 2, eps=1e-3, generator=torch.Generator().manual_seed(0))

    assert torch.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize(
    ("x", "groups", "message"),
    [
        (torch.randn(5), 1, "shape \\(N, D\\)"),
        (torch.randn(1, 4), 1, "N >= 2"),
        (torch.randn(5, 6), 4, "num_groups must divide D=6"),
    ],
)
def test_bad_inputs(x: torch.Tensor, groups: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        shuffled_group_whitening(x, groups)


def test_module_is_identity_in_eval_mode() -> None:
    sgw = ShuffledGroupWhitening(num_groups=2)
    x = torch.randn(8, 4)
    assert not torch.allclose(sgw(x), x)
    sgw.eval()
    assert torch.equal(sgw(x), x)


def test_whitened_cse_loss_matches_reference() -> None:
    z = [torch.randn(6, 12, dtype=torch.float64) for _ in range(3)]
    torch.manual_seed(5)
    ours = whitened_cse_loss(*z, temperature=0.1, num_groups=2, eps=1e-4)
    torch.manual_seed(5)
    perms = [torch.randperm(12) for _ in range(3)]
    w = [reference_sgw(v, 2, p, 1e-4) for v, p in zip(z, perms, strict=True)]
    expected = reference_info_nce(w[0], w[1], 0.1) + reference_info_nce(w[0], w[2], 0.1)
    torch.testing.assert_close(ours, expected)


def test_whitened_cse_loss_gradcheck() -> None:
    z = [torch.randn(5, 4, dtype=torch.float64, requires_grad=True) for _ in range(3)]

    def fn(*views: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(0)
        return whitened_cse_loss(*views, temperature=0.5, num_groups=2, eps=1e-3)

    assert torch.autograd.gradcheck(fn, tuple(z))


def test_whitened_views_that_agree_give_a_low_loss() -> None:
    # Property: identical views (no dropout noise) are easier than unrelated ones.
    z = torch.randn(16, 12)
    torch.manual_seed(0)
    same = whitened_cse_loss(z, z.clone(), z.clone(), temperature=0.05, num_groups=1)
    torch.manual_seed(0)
    other = whitened_cse_loss(
        z, torch.randn(16, 12), torch.randn(16, 12), temperature=0.05, num_groups=1
    )
    assert same < other
