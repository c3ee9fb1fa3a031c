"""SwAV auxiliary (Caron et al. 2020, arXiv:2006.09882) against loop references."""

from __future__ import annotations

import math

import pytest
import torch

from cl_rlhf.losses import SwAVLoss, sinkhorn_knopp, swapped_prediction_loss, swav_loss


def reference_sinkhorn(scores, epsilon, iterations):
    batch, k = len(scores), len(scores[0])
    plan = [[math.exp(scores[b][j] / epsilon) for b in range(batch)] for j in range(k)]
    total = sum(sum(row) for row in plan)
    plan = [[value / total for value in row] for row in plan]
    for _ in range(iterations):
        for j in range(k):
            row_sum = sum(plan[j])
            plan[j] = [value / row_sum / k for value in plan[j]]
        for b in range(batch):
            col_sum = sum(plan[j][b] for j in range(k))
            for j in range(k):
                plan[j][b] = plan[j][b] / col_sum / batch
    return [[plan[j][b] * batch for j in range(k)] for b in range(batch)]


def reference_swav(first, second, prototypes, tau, epsilon, iterations):
    def unit(v):
        norm = math.sqrt(sum(x * x for x in v))
        return [x / norm for x in v]

    protos = [unit(p) for p in prototypes.tolist()]
    views = []
    for z in (first.tolist(), second.tolist()):
        scores = [
            [sum(a * b for a, b in zip(unit(row), p, strict=True)) for p in protos] for row in z
        ]
        codes = reference_sinkhorn(scores, epsilon, iterations)
        log_p = []
        for row in scores:
            norm = math.log(sum(math.exp(s / tau) for s in row))
            log_p.append([s / tau - norm for s in row])
        views.append((codes, log_p))
    (codes_1, log_p_1), (codes_2, log_p_2) = views
    total = 0.0
    for i in range(len(codes_1)):
        for k in range(len(protos)):
            total += codes_2[i][k] * log_p_1[i][k] + codes_1[i][k] * log_p_2[i][k]
    return -total / (2 * len(codes_1))


def _inputs(batch=5, dim=4, k=3, seed=0, grad=False):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(n, dim, generator=gen, dtype=torch.float64, requires_grad=grad)
        for n in (batch, batch, k)
    ]


def test_sinkhorn_matches_loop_reference():
    scores = torch.randn(6, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    got = sinkhorn_knopp(scores, epsilon=0.5, iterations=4)
    expected = reference_sinkhorn(scores.tolist(), 0.5, 4)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))


def test_sinkhorn_codes_are_equipartitioned_after_many_iterations():
    scores = torch.randn(12, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    codes = sinkhorn_knopp(scores, epsilon=0.5, iterations=200)
    torch.testing.assert_close(codes.sum(1), torch.ones(12, dtype=torch.float64))
    torch.testing.assert_close(codes.sum(0), torch.full((4,), 3.0, dtype=torch.float64))


def test_sinkhorn_is_stable_for_small_epsilon():
    codes = sinkhorn_knopp(torch.tensor([[1.0, -1.0], [0.9, -1.0]]), epsilon=1e-3)
    assert torch.isfinite(codes).all()


@pytest.mark.parametrize(("tau", "epsilon", "iterations"), [(0.1, 0.05, 3), (0.5, 0.3, 1)])
def test_swav_loss_matches_loop_reference(tau, epsilon, iterations):
    first, second, prototypes = _inputs()
    got = swav_loss(
        first, second, prototypes, temperature=tau, epsilon=epsilon, iterations=iterations
    )
    expected = reference_swav(first, second, prototypes, tau, epsilon, iterations)
    assert float(got) == pytest.approx(expected, rel=1e-9)


def test_swapped_prediction_gradients_pass_gradcheck():
    first, second, prototypes = _inputs(batch=3, dim=3, k=2, seed=5, grad=True)
    codes = [
        sinkhorn_knopp(z.detach() @ prototypes.detach().t(), epsilon=0.5) for z in (first, second)
    ]
    assert torch.autograd.gradcheck(
        lambda a, b, c: swapped_prediction_loss(a, b, c, *codes, temperature=0.5),
        (first, second, prototypes),
    )


def test_swav_gradient_treats_codes_as_constants():
    first, second, prototypes = _inputs(grad=True)
    loss = swav_loss(first, second, prototypes, temperature=0.5, epsilon=0.5)
    grads = torch.autograd.grad(loss, (first, second, prototypes))
    unit = torch.nn.functional.normalize(prototypes.detach(), dim=1)
    codes = [
        sinkhorn_knopp(torch.nn.functional.normalize(z.detach(), dim=1) @ unit.t(), epsilon=0.5)
        for z in (first, second)
    ]
    fixed = swapped_prediction_loss(first, second, prototypes, *codes, temperature=0.5)
    for got, expected in zip(
        grads, torch.autograd.grad(fixed, (first, second, prototypes)), strict=True
    ):
        torch.testing.assert_close(got, expected)


def test_swav_is_lower_when_views_agree_than_when_they_disagree():
    protos = torch.eye(4, dtype=torch.float64)
    clustered = torch.eye(4, dtype=torch.float64).repeat(2, 1) * 5
    shuffled = clustered[torch.tensor([1, 2, 3, 0, 5, 6, 7, 4])]
    agree = swav_loss(clustered, clustered, protos, temperature=0.1)
    disagree = swav_loss(clustered, shuffled, protos, temperature=0.1)
    assert float(agree) < float(disagree)


def test_module_matches_function():
    first, second, _ = _inputs(dim=6)
    module = SwAVLoss(6, num_prototypes=3, temperature=0.2).double()
    expected = swav_loss(first, second, module.prototypes, temperature=0.2)
    torch.testing.assert_close(module(first, second), expected)


def test_swav_rejects_bad_inputs():
    first, second, prototypes = _inputs()
    with pytest.raises(ValueError, match="share one shape"):
        swav_loss(first, second[:2], prototypes)
    with pytest.raises(ValueError, match=r"prototypes must have shape \(K, 4\)"):
        swav_loss(first, second, prototypes[:, :2])
    with pytest.raises(ValueError, match="temperature"):
        swav_loss(first, second, prototypes, temperature=0.0)
    with pytest.raises(ValueError, match="epsilon"):
        sinkhorn_knopp(first @ prototypes.t(), epsilon=-1.0)
    with pytest.raises(ValueError, match="iterations"):
        sinkhorn_knopp(first @ prototypes.t(), iterations=0)
    with pytest.raises(ValueError, match=r"scores must have shape \(B, K\)"):
        sinkhorn_knopp(torch.zeros(3))
    with pytest.raises(ValueError, match=r"codes_first must have shape \(5, 3\)"):
        swapped_prediction_loss(first, second, prototypes, torch.zeros(5, 2), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="num_prototypes"):
        SwAVLoss(4, num_prototypes=1)
