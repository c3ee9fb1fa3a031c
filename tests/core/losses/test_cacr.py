"""CACR against loops written from the paper's formulas, plus its transport-plan properties."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core.losses.cacr import (
    CACRLoss,
    cacr,
    cacr_attraction,
    cacr_repulsion,
    cacr_transport_weights,
)


def loop_attraction(views, alpha, tau_pos, weighted=True):
    z = F.normalize(views.double(), dim=-1)
    b, v, _ = z.shape
    per_query = []
    for x in range(v):
        per_instance = []
        for i in range(b):
            sq = torch.stack([(z[i, x] - z[i, y]).pow(2).sum() for y in range(v) if y != x])
            if weighted:
                weights = torch.exp(tau_pos * sq) / torch.exp(tau_pos * sq).sum()
            else:
                weights = torch.full_like(sq, 1 / (v - 1))
            per_instance.append((weights * alpha * sq).sum())
        per_query.append(torch.stack(per_instance).mean())
    return torch.stack(per_query).mean()


def loop_repulsion(views, beta, tau_neg, weighted=True, debiased=False, tau_plus=0.1):
    z = F.normalize(views.double(), dim=-1)
    b, v, _ = z.shape
    per_pair = []
    for x in range(v):
        for y in range(x + 1, v):
            per_instance = []
            for i in range(b):
                cost = torch.stack(
                    [-beta * (z[i, x] - z[j, y]).pow(2).sum() for j in range(b) if j != i]
                )
                if weighted:
                    weights = (
                        torch.exp(tau_neg * cost / beta) / torch.exp(tau_neg * cost / beta).sum()
                    )
                else:
                    weights = torch.full_like(cost, 1 / (b - 1))
                term = (weights * cost).sum()
                if debiased:
                    positive = (z[i, x] - z[i, y]).pow(2).sum()
                    term = (-tau_plus * positive + term) / (1 - tau_plus)
                per_instance.append(term)
            per_pair.append(torch.stack(per_instance).mean())
    return torch.stack(per_pair).mean()


@pytest.fixture
def views() -> torch.Tensor:
    return torch.randn(5, 4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


@pytest.mark.parametrize("weighted", [True, False])
def test_attraction_matches_loop(views, weighted) -> None:
    torch.testing.assert_close(
        cacr_attraction(views, alpha=1.5, tau_pos=2.0, weighted=weighted),
        loop_attraction(views, 1.5, 2.0, weighted),
    )


@pytest.mark.parametrize(("weighted", "debiased"), [(True, False), (False, False), (True, True)])
def test_repulsion_matches_loop(views, weighted, debiased) -> None:
    torch.testing.assert_close(
        cacr_repulsion(views, beta=0.7, tau_neg=0.9, weighted=weighted, debiased=debiased),
        loop_repulsion(views, 0.7, 0.9, weighted, debiased),
    )


def test_cacr_is_attraction_plus_repulsion(views) -> None:
    expected = loop_attraction(views, 1.0, 1.0) + loop_repulsion(views, 1.0, 2.0)
    torch.testing.assert_close(cacr(views, tau_neg=2.0), expected)
    torch.testing.assert_close(CACRLoss(tau_neg=2.0)(views), expected)


def test_transport_weights_are_distributions(views) -> None:
    attraction, repulsion = cacr_transport_weights(views, tau_pos=1.0, tau_neg=0.9)
    assert attraction.shape == (5, 4, 3)
    assert repulsion.shape == (6, 5, 4)
    for weights in (attraction, repulsion):
        assert bool((weights > 0).all())
        torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)))


def test_far_positives_and_close_negatives_weigh_more() -> None:
    # Instance 0: view 1 is near view 0, view 2 is far from it.
    views = torch.tensor(
        [
            [[1.0, 0.0], [0.9, 0.1], [-0.2, 1.0]],
            [[0.0, 1.0], [0.1, 0.9], [0.0, 1.0]],
            [[-1.0, 0.0], [-1.0, 0.1], [-1.0, -0.1]],
        ],
        dtype=torch.float64,
    )
    attraction, repulsion = cacr_transport_weights(views)
    assert attraction[0, 0, 1] > attraction[0, 0, 0]  # query 0: far view 2 > near view 1
    # Repulsion for pair (view 0, view 1), anchor instance 0 -> candidates [1, 2]:
    # instance 1 ([0.1, 0.9]) is closer to [1, 0] than instance 2 ([-1, 0.1]).
    assert repulsion[0, 0, 0] > repulsion[0, 0, 1]


def test_hardest_positive_gets_the_largest_gradient() -> None:
    # One instance, four views on the unit circle at angles 0, 0.1, 0.3 and 1.2 rad.
    angles = torch.tensor([0.0, 0.1, 0.3, 1.2], dtype=torch.float64)
    circle = torch.stack((angles.cos(), angles.sin()), dim=-1)
    other = torch.tensor([[[0.0, -1.0]] * 4], dtype=torch.float64)

    def gradient_norms(weighted: bool) -> torch.Tensor:
        views = torch.cat((circle.unsqueeze(0), other)).requires_grad_(True)
        cacr_attraction(views, tau_pos=3.0, weighted=weighted).backward()
        return views.grad[0].norm(dim=-1)

    weighted = gradient_norms(True)
    uniform = gradient_norms(False)
    assert int(weighted.argmax()) == 3
    assert weighted[3] / weighted[1] > uniform[3] / uniform[1]


def test_gradients_match_finite_differences() -> None:
    views = torch.randn(3, 3, 4, dtype=torch.float64, requires_grad=True)

    def loss(x):
        return cacr(x, alpha=1.2, beta=0.8, tau_pos=1.5, tau_neg=0.9) + cacr_repulsion(
            x, debiased=True
        )

    assert torch.autograd.gradcheck(loss, (views,))


def test_gradients_match_finite_differences_without_normalisation() -> None:
    views = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: cacr(x, normalize=False), (views,))


@pytest.mark.parametrize(
    ("views", "options", "message"),
    [
        (torch.randn(4, 1, 3), {}, "V >= 2"),
        (torch.randn(1, 3, 3), {}, "B >= 2"),
        (torch.randn(4, 3), {}, r"\(B, V, D\)"),
        (torch.full((4, 2, 3), float("nan")), {}, "views"),
        (torch.randn(4, 2, 3), {"tau_pos": 0.0}, "tau_pos"),
        (torch.randn(4, 2, 3), {"tau_neg": -1.0}, "tau_neg"),
        (torch.randn(4, 2, 3), {"alpha": 0.0}, "alpha"),
        (torch.randn(4, 2, 3), {"beta": -2.0}, "beta"),
        (torch.randn(4, 2, 3), {"debiased": True, "tau_plus": 1.0}, "tau_plus"),
    ],
)
def test_bad_inputs_raise(views, options, message) -> None:
    with pytest.raises(ValueError, match=message):
        cacr(views, **options)


def test_bad_module_options_raise() -> None:
    with pytest.raises(ValueError, match="tau_plus"):
        CACRLoss(tau_plus=-0.1)
    with pytest.raises(TypeError, match="views"):
        cacr([[[1.0]]])


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(2, 5),
    num_views=st.integers(2, 4),
    dim=st.integers(1, 5),
    tau_pos=st.floats(0.1, 3.0),
    tau_neg=st.floats(0.1, 3.0),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_matches_loops(batch, num_views, dim, tau_pos, tau_neg, seed) -> None:
    views = torch.randn(
        batch, num_views, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    expected = loop_attraction(views, 1.0, tau_pos) + loop_repulsion(views, 1.0, tau_neg)
    torch.testing.assert_close(cacr(views, tau_pos=tau_pos, tau_neg=tau_neg), expected)
