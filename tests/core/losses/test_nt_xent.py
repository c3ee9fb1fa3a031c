"""NT-Xent (SimCLR, arXiv:2002.05709) against a loop written from the paper's formula."""

from __future__ import annotations

import math

import pytest
import torch

from cl_core import losses
from cl_core.losses import NTXentLoss, nt_xent


def unit_rows(x):
    return torch.stack([row / torch.sqrt(torch.sum(row * row)) for row in x])


def loop_nt_xent(z1, z2, temperature):
    """l_k = -log exp(u_k.u_k+ / t) / sum_{j != k} exp(u_k.u_j / t) over the 2N stacked views."""
    u = torch.cat((unit_rows(z1), unit_rows(z2)))
    n = z1.shape[0]
    losses = []
    for k in range(2 * n):
        partner = k + n if k < n else k - n
        numerator = torch.exp(torch.dot(u[k], u[partner]) / temperature)
        denominator = sum(
            torch.exp(torch.dot(u[k], u[j]) / temperature) for j in range(2 * n) if j != k
        )
        losses.append(-torch.log(numerator / denominator))
    return torch.stack(losses)


@pytest.mark.parametrize(("batch", "dim"), [(1, 3), (2, 1), (3, 4), (6, 5)])
@pytest.mark.parametrize("temperature", [0.07, 0.5, 1.0])
def test_matches_loop_per_row(batch, dim, temperature) -> None:
    generator = torch.Generator().manual_seed(batch * 10 + dim)
    z1 = torch.randn(batch, dim, generator=generator, dtype=torch.float64)
    z2 = torch.randn(batch, dim, generator=generator, dtype=torch.float64)
    expected = loop_nt_xent(z1, z2, temperature)
    torch.testing.assert_close(nt_xent(z1, z2, temperature, reduction="none"), expected)
    torch.testing.assert_close(nt_xent(z1, z2, temperature, reduction="sum"), expected.sum())
    torch.testing.assert_close(nt_xent(z1, z2, temperature), expected.mean())


def test_gradients_match_finite_differences() -> None:
    generator = torch.Generator().manual_seed(0)
    z1 = torch.randn(3, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: nt_xent(a, b, 0.3), (z1, z2))


def test_gradients_match_loop_reference() -> None:
    generator = torch.Generator().manual_seed(1)
    z1 = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    got = torch.autograd.grad(nt_xent(z1, z2, 0.2), (z1, z2))
    expected = torch.autograd.grad(loop_nt_xent(z1, z2, 0.2).mean(), (z1, z2))
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("batch", [1, 4, 9])
def test_identical_embeddings_give_log_2n_minus_1(batch) -> None:
    same = torch.ones(batch, 6)
    loss = nt_xent(same, same.clone(), temperature=0.5)
    assert loss.item() == pytest.approx(math.log(2 * batch - 1), rel=1e-6)


def test_unnormalised_mode_uses_raw_dot_products() -> None:
    z1, z2 = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    scaled = nt_xent(2.0 * z1, 2.0 * z2, 0.5, normalize=False)
    assert scaled.item() == pytest.approx(nt_xent(z1, z2, 0.125, normalize=False).item())


def test_half_precision_returns_float32() -> None:
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    half = nt_xent(z1.half(), z2.half(), 0.5)
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, nt_xent(z1.half().float(), z2.half().float(), 0.5))


def test_module_matches_function() -> None:
    z1, z2 = torch.randn(5, 3), torch.randn(5, 3)
    module = NTXentLoss(temperature=0.2, reduction="sum")
    torch.testing.assert_close(module(z1, z2), nt_xent(z1, z2, 0.2, reduction="sum"))


def test_learnable_temperature_gets_a_gradient() -> None:
    temperature = torch.tensor(0.5, requires_grad=True)
    nt_xent(torch.randn(4, 3), torch.randn(4, 3), temperature).backward()
    assert temperature.grad is not None and torch.isfinite(temperature.grad)


@pytest.mark.parametrize(
    ("z1", "z2", "kwargs", "error", "pattern"),
    [
        (torch.randn(3, 4), torch.randn(2, 4), {}, ValueError, "z1 and z2 must have the same"),
        (torch.randn(3, 4), torch.randn(3, 5), {}, ValueError, "z1 and z2 must have the same"),
        (torch.randn(3, 4, 2), torch.randn(3, 4), {}, ValueError, "z1 must be a 2-D"),
        (torch.randn(0, 4), torch.randn(0, 4), {}, ValueError, "z1 must be non-empty"),
        (torch.randn(3, 4), torch.randn(3, 4), {"temperature": 0.0}, ValueError, "temperature"),
        (torch.randn(3, 4), torch.randn(3, 4), {"temperature": -1.0}, ValueError, "temperature"),
        (torch.randn(3, 4), torch.randn(3, 4), {"reduction": "avg"}, ValueError, "reduction"),
        (torch.full((3, 4), float("nan")), torch.randn(3, 4), {}, ValueError, "z1 must be finite"),
        (torch.randn(3, 4), torch.ones(3, 4, dtype=torch.int64), {}, TypeError, "z2 must be a fl"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(z1, z2, kwargs, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        nt_xent(z1, z2, **kwargs)


def test_module_rejects_bad_hyper_parameters() -> None:
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(temperature=0.0)
    with pytest.raises(ValueError, match="reduction"):
        NTXentLoss(reduction="max")
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        NTXentLoss(chunk_size=0)


@pytest.mark.parametrize(
    ("module", "temperature"),
    [
        (NTXentLoss, 0.5),
        (losses.DCLLoss, 0.1),
        (losses.DCLWLoss, 0.1),
        (losses.SupConLoss, 0.1),
        (losses.InfoNCELoss, 0.1),
    ],
)
def test_batch_loss_modules_fall_back_to_their_default_temperature(module, temperature) -> None:
    assert module().temperature == temperature
    assert module(None).temperature == temperature
    assert module(0.3).temperature == 0.3
    with pytest.raises(TypeError):
        module(0.3, not_an_option=True)
