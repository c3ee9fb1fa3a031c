"""Losses form their logits in float32 inside a bf16 autocast region (Lightning's bf16-mixed)."""

from __future__ import annotations

import pytest
import torch

from cl_core.losses import clip_loss, info_nce, nt_xent, supcon

LOSSES = {
    "info_nce": lambda a, b: info_nce(a, b, temperature=0.1),
    "info_nce_tiled": lambda a, b: info_nce(a, b, temperature=0.1, chunk_size=5),
    "nt_xent": lambda a, b: nt_xent(a, b, 0.2),
    "clip_loss": lambda a, b: clip_loss(a, b, 20.0),
    "supcon": lambda a, b: supcon(torch.stack((a, b), 1), torch.arange(len(a)) % 4, 0.1),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_and_gradient_inside_bf16_autocast_equal_the_float32_ones(name: str) -> None:
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(12, 16, generator=generator, requires_grad=True)
    b = torch.randn(12, 16, generator=generator)
    expected = LOSSES[name](a, b)
    (expected_grad,) = torch.autograd.grad(expected, a)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = LOSSES[name](a, b)
    (got_grad,) = torch.autograd.grad(got, a)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(got_grad, expected_grad, rtol=1e-5, atol=1e-6)
