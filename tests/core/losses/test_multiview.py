"""MV-InfoNCE, MV-DHEL and the PWE / AVG baselines against loops from the paper's formulas."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core.losses.multiview import (
    MultiViewAverageLoss,
    MultiViewPairwiseLoss,
    MVDHELLoss,
    MVInfoNCELoss,
    mv_average_of_others,
    mv_dhel,
    mv_infonce,
    mv_pairwise_average,
)


def _unit(views: torch.Tensor) -> torch.Tensor:
    return F.normalize(views.double(), dim=-1)


def loop_mv_infonce(views: torch.Tensor, tau: float) -> torch.Tensor:
    u = _unit(views)
    b, v, _ = u.shape
    total = torch.zeros((), dtype=torch.float64)
    for i in range(b):
        numerator = 2 * sum(
            torch.exp(u[i, l] @ u[i, m] / tau) for l in range(v) for m in range(l + 1, v)
        )
        denominator = sum(
            torch.exp(u[i, l] @ u[j, m] / tau)
            for l in range(v)
            for j in range(b)
            for m in range(v)
            if (j, m) != (i, l)
        )
        total = total - torch.log(numerator / denominator)
    return total / b


def loop_mv_dhel(views: torch.Tensor, tau: float) -> torch.Tensor:
    u = _unit(views)
    b, v, _ = u.shape
    total = torch.zeros((), dtype=torch.float64)
    for i in range(b):
        numerator = sum(
            torch.exp(u[i, l] @ u[i, m] / tau) for l in range(v) for m in range(l + 1, v)
        )
        denominator = torch.ones((), dtype=torch.float64)
        for l in range(v):
            denominator = denominator * sum(
                torch.exp(u[i, l] @ u[j, l] / tau) for j in range(b) if j != i
            )
        total = total - torch.log(numerator / denominator)
    return total / b


def loop_pairwise_dhel(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """Two-view DHEL: -log(e^{z1_i·z2_i/τ} / (Σ_{j≠i} e^{z1_i·z1_j/τ} Σ_{j≠i} e^{z2_i·z2_j/τ}))."""
    z1, z2 = _unit(z1), _unit(z2)
    b = z1.shape[0]
    losses = []
    for i in range(b):
        energy_1 = sum(torch.exp(z1[i] @ z1[j] / tau) for j in range(b) if j != i)
        energy_2 = sum(torch.exp(z2[i] @ z2[j] / tau) for j in range(b) if j != i)
        losses.append(-(z1[i] @ z2[i] / tau) + torch.log(energy_1) + torch.log(energy_2))
    return torch.stack(losses).mean()


def loop_nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """SimCLR NT-Xent over 2B rows; each row's positive is its other view."""
    rows = torch.cat((_unit(z1), _unit(z2)))
    n, b = rows.shape[0], z1.shape[0]
    losses = []
    for i in range(n):
        p = (i + b) % n
        denominator = sum(torch.exp(rows[i] @ rows[k] / tau) for k in range(n) if k != i)
        losses.append(-torch.log(torch.exp(rows[i] @ rows[p] / tau) / denominator))
    return torch.stack(losses).mean()


def loop_average(views: torch.Tensor, tau: float, pair) -> torch.Tensor:
    u = _unit(views)
    v = u.shape[1]
    losses = []
    for l in range(v):
        others = sum(u[:, m] for m in range(v) if m != l) / (v - 1)
        losses.append(pair(u[:, l], F.normalize(others, dim=-1), tau))
    return torch.stack(losses).mean()


@pytest.fixture
def views() -> torch.Tensor:
    return torch.randn(5, 3, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_mv_infonce_matches_loop(views: torch.Tensor) -> None:
    torch.testing.assert_close(mv_infonce(views, 0.5), loop_mv_infonce(views, 0.5))


def test_mv_dhel_matches_loop(views: torch.Tensor) -> None:
    torch.testing.assert_close(mv_dhel(views, 0.3), loop_mv_dhel(views, 0.3))


def test_mv_dhel_with_two_views_is_pairwise_dhel(views: torch.Tensor) -> None:
    two = views[:, :2]
    torch.testing.assert_close(mv_dhel(two, 0.2), loop_pairwise_dhel(two[:, 0], two[:, 1], 0.2))


@pytest.mark.parametrize("loss", [mv_infonce, mv_dhel])
def test_invariant_to_view_and_instance_order(loss, views: torch.Tensor) -> None:
    view_order = torch.tensor([2, 0, 1])
    instance_order = torch.tensor([4, 2, 0, 1, 3])
    expected = loss(views, 0.5)
    torch.testing.assert_close(loss(views[:, view_order], 0.5), expected)
    torch.testing.assert_close(loss(views[instance_order], 0.5), expected)


def test_pairwise_average_matches_loops(views: torch.Tensor) -> None:
    pairs = list(itertools.combinations(range(3), 2))
    expected_nt = torch.stack([loop_nt_xent(views[:, l], views[:, m], 0.5) for l, m in pairs])
    expected_dhel = torch.stack(
        [loop_pairwise_dhel(views[:, l], views[:, m], 0.5) for l, m in pairs]
    )
    torch.testing.assert_close(mv_pairwise_average(views, 0.5), expected_nt.mean())
    torch.testing.assert_close(
        mv_pairwise_average(views, 0.5, pair_loss="dhel"), expected_dhel.mean()
    )


def test_average_of_others_matches_loops(views: torch.Tensor) -> None:
    torch.testing.assert_close(
        mv_average_of_others(views, 0.5), loop_average(views, 0.5, loop_nt_xent)
    )
    torch.testing.assert_close(
        mv_average_of_others(views, 0.5, pair_loss="dhel"),
        loop_average(views, 0.5, loop_pairwise_dhel),
    )


def test_mv_infonce_of_perfectly_aligned_orthogonal_views_has_closed_form() -> None:
    # Every view of instance i equals e_i: numerator 2·C(V,2)·e^{1/τ}; each of the V rows of i has
    # V-1 other views at e^{1/τ} and (B-1)·V other instances at e^0.
    b, v, tau = 4, 3, 0.5
    views = torch.eye(b, dtype=torch.float64).unsqueeze(1).expand(b, v, b)
    numerator = 2 * math.comb(v, 2) * math.exp(1 / tau)
    denominator = v * ((v - 1) * math.exp(1 / tau) + (b - 1) * v)
    expected = -math.log(numerator / denominator)
    assert mv_infonce(views, tau).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "loss",
    [
        mv_infonce,
        mv_dhel,
        mv_pairwise_average,
        mv_average_of_others,
        lambda v, t: mv_pairwise_average(v, t, pair_loss="dhel"),
    ],
)
def test_gradients_match_finite_differences(loss) -> None:
    views = torch.randn(3, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: loss(x, 0.7), (views,))


def test_modules_call_the_functions(views: torch.Tensor) -> None:
    torch.testing.assert_close(MVInfoNCELoss(0.4)(views), mv_infonce(views, 0.4))
    torch.testing.assert_close(MVDHELLoss(0.4)(views), mv_dhel(views, 0.4))
    torch.testing.assert_close(
        MultiViewPairwiseLoss(0.4, pair_loss="dhel")(views),
        mv_pairwise_average(views, 0.4, pair_loss="dhel"),
    )
    torch.testing.assert_close(MultiViewAverageLoss(0.4)(views), mv_average_of_others(views, 0.4))


def test_without_normalisation_uses_raw_dot_products() -> None:
    views = torch.randn(4, 2, 3, dtype=torch.float64) * 3
    unit = F.normalize(views, dim=-1)
    assert not torch.allclose(mv_dhel(views, 1.0, normalize=False), mv_dhel(unit, 1.0))
    torch.testing.assert_close(mv_dhel(unit, 1.0, normalize=False), mv_dhel(views, 1.0))


@pytest.mark.parametrize("loss", [mv_infonce, mv_dhel, mv_pairwise_average, mv_average_of_others])
@pytest.mark.parametrize(
    ("views", "temperature", "message"),
    [
        (torch.randn(4, 1, 3), 0.5, "V >= 2"),
        (torch.randn(1, 3, 3), 0.5, "B >= 2"),
        (torch.randn(4, 3), 0.5, r"\(B, V, D\)"),
        (torch.randn(4, 2, 3), 0.0, "temperature"),
        (torch.randn(4, 2, 3), -1.0, "temperature"),
        (torch.full((4, 2, 3), float("nan")), 0.5, "views"),
    ],
)
def test_bad_inputs_raise(loss, views, temperature, message) -> None:
    with pytest.raises(ValueError, match=message):
        loss(views, temperature)


def test_bad_pair_loss_and_type_raise() -> None:
    with pytest.raises(ValueError, match="pair_loss"):
        mv_pairwise_average(torch.randn(4, 2, 3), pair_loss="clip")
    with pytest.raises(TypeError, match="views"):
        mv_infonce([[1.0, 2.0]], 0.5)
    with pytest.raises(ValueError, match="temperature"):
        MVDHELLoss(temperature=0.0)


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(2, 5),
    num_views=st.integers(2, 4),
    dim=st.integers(1, 6),
    temperature=st.floats(0.05, 2.0),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_matches_loops(batch, num_views, dim, temperature, seed) -> None:
    views = torch.randn(
        batch, num_views, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    torch.testing.assert_close(mv_infonce(views, temperature), loop_mv_infonce(views, temperature))
    torch.testing.assert_close(mv_dhel(views, temperature), loop_mv_dhel(views, temperature))
