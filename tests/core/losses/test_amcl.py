"""AMCL (SimCLR form) against a loop written from the paper's formula, plus its regulariser."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core.heads import PairTemperatureNetwork
from cl_core.losses.amcl import AMCLLoss, amcl_regularizer, amcl_simclr


def omega(tau: torch.Tensor, dim: int) -> torch.Tensor:
    return dim / 2 * torch.log(tau) + 1 / tau


def loop_amcl(z1, z2, temperature_fn, top_k, beta):
    z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    b, c, d = z1.shape
    total = torch.zeros((), dtype=z1.dtype)
    for h in range(c):
        directions = []
        for anchors, partners in ((z1[:, h], z2[:, h]), (z2[:, h], z1[:, h])):
            per_anchor = []
            for i in range(b):
                a, p = anchors[i], partners[i]
                tau_p = temperature_fn(a[None], p[None])[0, 0]
                negatives = [partners[j] for j in range(b) if j != i]
                negatives += [anchors[j] for j in range(b) if j != i]
                scored = sorted(negatives, key=lambda n, a=a: float(a @ n), reverse=True)
                top = scored[: min(top_k, len(scored))]
                sims = torch.stack([a @ n for n in top])
                taus = torch.stack([temperature_fn(a[None], n[None])[0, 0] for n in top])
                per_anchor.append(
                    -(a @ p) / tau_p
                    + (sims / taus).mean()
                    + beta * omega(tau_p, d)
                    - beta * (torch.log(taus) + 1 / taus).sum()
                )
            directions.append(torch.stack(per_anchor).mean())
        total = total + (directions[0] + directions[1]) / 2
    return total


def _network(dim: int, seed: int = 0) -> PairTemperatureNetwork:
    torch.manual_seed(seed)
    return PairTemperatureNetwork(dim, tau_min=0.05, tau_max=2.0).double()


@pytest.mark.parametrize("dim", [1, 4, 128])
def test_regulariser_is_stationary_and_minimal_at_two_over_d(dim: int) -> None:
    tau = torch.tensor(2.0 / dim, dtype=torch.float64, requires_grad=True)
    value = amcl_regularizer(tau, dim)
    (grad,) = torch.autograd.grad(value, tau)
    assert abs(grad.item()) < 1e-9
    for factor in (0.5, 0.9, 1.1, 2.0):
        assert amcl_regularizer(tau.detach() * factor, dim) > value.detach()
    torch.testing.assert_close(value, omega(tau, dim))


def test_matches_loop_with_a_temperature_network() -> None:
    net = _network(4)
    generator = torch.Generator().manual_seed(2)
    z1 = torch.randn(5, 2, 4, generator=generator, dtype=torch.float64)
    z2 = torch.randn(5, 2, 4, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(
            amcl_simclr(z1, z2, net, top_k=3, beta=0.05), loop_amcl(z1, z2, net, 3, 0.05)
        )


def test_one_head_constant_temperature_is_linear_negative_simclr() -> None:
    z1, z2 = torch.randn(2, 6, 1, 8, dtype=torch.float64).unbind(0)
    tau, beta, dim, b = 0.3, 0.01, 8, 6
    constant = lambda a, c: torch.full((a.shape[0], c.shape[0]), tau, dtype=a.dtype)  # noqa: E731
    u1, u2 = F.normalize(z1[:, 0], dim=-1), F.normalize(z2[:, 0], dim=-1)
    k = 2 * b - 2
    regulariser = beta * omega(torch.tensor(tau, dtype=torch.float64), dim) - beta * k * (
        math.log(tau) + 1 / tau
    )

    def direction(x, y):
        sims = torch.cat((x @ y.T, x @ x.T), dim=1)
        positives = sims.diagonal()
        negatives_sum = sims.sum(1) - positives - x.pow(2).sum(1)
        return (-positives / tau + negatives_sum / (k * tau)).mean() + regulariser

    expected = (direction(u1, u2) + direction(u2, u1)) / 2
    torch.testing.assert_close(amcl_simclr(z1, z2, constant, top_k=100, beta=beta), expected)


def test_heads_add_up() -> None:
    net = _network(3)
    z1, z2 = torch.randn(2, 4, 3, 3, dtype=torch.float64).unbind(0)
    with torch.no_grad():
        per_head = sum(amcl_simclr(z1[:, [h]], z2[:, [h]], net, top_k=2) for h in range(3))
        torch.testing.assert_close(amcl_simclr(z1, z2, net, top_k=2), per_head)


def test_gradients_match_finite_differences() -> None:
    net = _network(3)
    z1 = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: amcl_simclr(a, b, net, top_k=2, beta=0.1), (z1, z2)
    )


def test_module_trains_the_temperature_network() -> None:
    loss_fn = AMCLLoss(dim=8, top_k=4)
    z1 = torch.randn(6, 3, 8, requires_grad=True)
    loss = loss_fn(z1, torch.randn(6, 3, 8))
    loss.backward()
    assert torch.isfinite(loss)
    assert z1.grad is not None and bool(z1.grad.abs().sum() > 0)
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in loss_fn.parameters())


@pytest.mark.parametrize(
    ("z1", "z2", "options", "error", "message"),
    [
        (torch.randn(4, 2, 3), torch.randn(4, 2, 4), {}, ValueError, "same shape"),
        (torch.randn(1, 2, 3), torch.randn(1, 2, 3), {}, ValueError, "B >= 2"),
        (torch.randn(4, 3), torch.randn(4, 3), {}, ValueError, r"\(B, C, D\)"),
        (torch.randn(4, 2, 3), torch.randn(4, 2, 3), {"top_k": 0}, ValueError, "top_k"),
        (torch.randn(4, 2, 3), torch.randn(4, 2, 3), {"beta": -0.1}, ValueError, "beta"),
        (
            torch.full((4, 2, 3), float("nan")),
            torch.randn(4, 2, 3),
            {},
            ValueError,
            "z1",
        ),
    ],
)
def test_bad_inputs_raise(z1, z2, options, error, message) -> None:
    with pytest.raises(error, match=message):
        amcl_simclr(z1, z2, PairTemperatureNetwork(z1.shape[-1]), **options)


def test_bad_temperature_function_raises() -> None:
    z = torch.randn(4, 1, 3)
    with pytest.raises(ValueError, match="temperature_fn"):
        amcl_simclr(z, z, lambda a, c: torch.ones(a.shape[0], 3))
    with pytest.raises(TypeError, match="temperature_fn"):
        amcl_simclr(z, z, 0.5)
    with pytest.raises(ValueError, match="tau"):
        amcl_regularizer(torch.tensor([0.0, 1.0]), 4)
    with pytest.raises(ValueError, match="dim"):
        amcl_regularizer(torch.tensor(1.0), 0)
    with pytest.raises(ValueError, match="width"):
        AMCLLoss(dim=4)(torch.randn(4, 1, 3), torch.randn(4, 1, 3))


@settings(max_examples=20, deadline=None)
@given(
    batch=st.integers(2, 4),
    heads=st.integers(1, 2),
    dim=st.integers(2, 4),  # D = 1 makes similarities tie, and ties make top-k ambiguous
    top_k=st.integers(1, 8),
    beta=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_matches_loop(batch, heads, dim, top_k, beta, seed) -> None:
    net = _network(dim, seed)
    generator = torch.Generator().manual_seed(seed)
    z1 = torch.randn(batch, heads, dim, generator=generator, dtype=torch.float64)
    z2 = torch.randn(batch, heads, dim, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(
            amcl_simclr(z1, z2, net, top_k=top_k, beta=beta), loop_amcl(z1, z2, net, top_k, beta)
        )
