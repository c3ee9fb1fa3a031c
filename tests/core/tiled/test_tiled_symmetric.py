"""The fused symmetric tiled InfoNCE equals the mean of both CLIP directions, values and grads."""

from __future__ import annotations

import math

import pytest
import torch

from cl_core.losses.clip import clip_loss
from cl_core.losses.tiled import tiled_symmetric_info_nce

BATCH, DIM = 9, 4


def loop_reference(first: torch.Tensor, second: torch.Tensor, temperature) -> torch.Tensor:
    """Per pair: 1/2 (LSE_j s_ij - s_ii) + 1/2 (LSE_j s_ji - s_ii), one term at a time."""
    logits = first @ second.T / temperature
    losses = []
    for i in range(first.shape[0]):
        row = torch.logsumexp(logits[i, :], dim=0) - logits[i, i]
        column = torch.logsumexp(logits[:, i], dim=0) - logits[i, i]
        losses.append(0.5 * (row + column))
    return torch.stack(losses)


def make_pair(seed: int, dtype: torch.dtype = torch.float64):
    generator = torch.Generator().manual_seed(seed)
    first = torch.randn(BATCH, DIM, generator=generator, dtype=dtype)
    second = torch.randn(BATCH, DIM, generator=generator, dtype=dtype)
    return first.requires_grad_(), second.requires_grad_()


@pytest.mark.parametrize("block", [1, 2, 4, 9, 20])
def test_values_and_gradients_match_the_loop_reference(block):
    first, second = make_pair(0)
    temperature = torch.tensor(0.6, dtype=torch.float64, requires_grad=True)
    weights = torch.linspace(0.2, 1.0, BATCH, dtype=torch.float64)
    expected = loop_reference(first, second, temperature)
    expected_grads = torch.autograd.grad((expected * weights).sum(), (first, second, temperature))
    per_pair = tiled_symmetric_info_nce(
        first, second, temperature, reduction="none", chunk_size=block
    )
    grads = torch.autograd.grad((per_pair * weights).sum(), (first, second, temperature))
    torch.testing.assert_close(per_pair, expected)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected_grad)


def test_equals_the_clip_loss_without_normalisation():
    first, second = make_pair(1, torch.float32)
    fused = tiled_symmetric_info_nce(first, second, 0.07, chunk_size=4)
    reference = clip_loss(first, second, logit_scale=1 / 0.07, normalize=False)
    torch.testing.assert_close(fused, reference)


def test_gradcheck_in_float64():
    first, second = make_pair(2)
    temperature = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b, t: tiled_symmetric_info_nce(a, b, t, chunk_size=4),
        (first, second, temperature),
    )


def test_bf16_inputs_give_float32_loss_and_bf16_gradients():
    first, second = make_pair(3, torch.float32)
    low_first = first.detach().bfloat16().requires_grad_()
    low_second = second.detach().bfloat16().requires_grad_()
    loss = tiled_symmetric_info_nce(low_first, low_second, 0.5, chunk_size=4)
    reference = loop_reference(low_first.detach().float(), low_second.detach().float(), 0.5)
    loss.backward()
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, reference.mean())
    assert low_first.grad.dtype == torch.bfloat16
    assert low_second.grad.dtype == torch.bfloat16


def test_identical_embeddings_give_log_batch():
    ones = torch.ones(BATCH, DIM)
    loss = tiled_symmetric_info_nce(ones, ones, 0.1, chunk_size=4)
    torch.testing.assert_close(loss, torch.tensor(math.log(BATCH)))


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="same shape"):
        tiled_symmetric_info_nce(torch.randn(4, 3), torch.randn(5, 3), 0.1)
    with pytest.raises(ValueError, match="temperature"):
        tiled_symmetric_info_nce(torch.randn(4, 3), torch.randn(4, 3), -1.0)
    with pytest.raises(ValueError, match="chunk_size"):
        tiled_symmetric_info_nce(torch.randn(4, 3), torch.randn(4, 3), 0.1, chunk_size=0)
    with pytest.raises(TypeError, match="floating-point"):
        tiled_symmetric_info_nce(torch.ones(4, 3, dtype=torch.long), torch.randn(4, 3), 0.1)
