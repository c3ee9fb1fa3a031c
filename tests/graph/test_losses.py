"""MEOW / AdaMEOW / cross-view losses against loop references written from the papers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cl_graph.losses import (
    MEOWInfoNCELoss,
    NegativeWeightNet,
    adaptive_weighted_info_nce,
    cross_view_info_nce,
    meow_info_nce,
)


def reference_weights(assignments: torch.Tensor) -> torch.Tensor:
    runs, n = assignments.shape
    w = torch.zeros(n, n)
    for i in range(n):
        for j in range(n):
            w[i, j] = runs - sum(int(assignments[k, i] == assignments[k, j]) for k in range(runs))
    return w


def reference_meow(a, c, assignments, tau):
    a, c = F.normalize(a, dim=1), F.normalize(c, dim=1)
    w = reference_weights(assignments).to(a.dtype)
    total = 0.0
    for i in range(a.shape[0]):
        numerator = torch.exp(a[i] @ c[i] / tau)
        denominator = sum(w[i, j] * torch.exp(a[i] @ c[j] / tau) for j in range(c.shape[0]))
        total = total - torch.log(numerator / denominator)
    return total / a.shape[0]


def reference_adaptive(a, c, net, tau):
    a, c = F.normalize(a, dim=1), F.normalize(c, dim=1)
    total = 0.0
    for i in range(a.shape[0]):
        denominator = 0.0
        for j in range(c.shape[0]):
            if j != i:
                hidden = torch.tanh(net.first(a[i] + c[j]))
                weight = torch.sigmoid(net.second(hidden)).squeeze()
                denominator = denominator + weight * torch.exp(a[i] @ c[j] / tau)
        total = total - torch.log(torch.exp(a[i] @ c[i] / tau) / denominator)
    return total / a.shape[0]


def reference_cross_view(u, v, positives, tau, balance):
    u, v = F.normalize(u, dim=1), F.normalize(v, dim=1)

    def one_direction(x, y, pos):
        total = 0.0
        for i in range(x.shape[0]):
            denominator = sum(torch.exp(x[i] @ y[j] / tau) for j in range(y.shape[0]))
            members = [p for p in range(y.shape[0]) if pos[i, p]]
            total = total + sum(
                -torch.log(torch.exp(x[i] @ y[p] / tau) / denominator) for p in members
            ) / len(members)
        return total / x.shape[0]

    return balance * one_direction(u, v, positives) + (1 - balance) * one_direction(
        v, u, positives.T
    )


ASSIGNMENTS = torch.tensor([[0, 0, 1, 1, 2, 2], [0, 1, 1, 2, 2, 0], [0, 0, 0, 1, 1, 1]])


def test_meow_info_nce_matches_reference_value():
    torch.manual_seed(0)
    a, c = torch.randn(6, 5), torch.randn(6, 5)
    expected = reference_meow(a, c, ASSIGNMENTS, 0.4)
    torch.testing.assert_close(meow_info_nce(a, c, ASSIGNMENTS, temperature=0.4), expected)
    torch.testing.assert_close(MEOWInfoNCELoss(0.4)(a, c, ASSIGNMENTS), expected)


def test_meow_info_nce_anchor_subset_is_mean_of_those_rows():
    torch.manual_seed(1)
    a, c = torch.randn(6, 5), torch.randn(6, 5)
    index = torch.tensor([2, 5])
    subset = meow_info_nce(a[index], c, ASSIGNMENTS, temperature=0.5, anchor_index=index)
    rows = [
        meow_info_nce(a[[i]], c, ASSIGNMENTS, temperature=0.5, anchor_index=torch.tensor([i]))
        for i in (2, 5)
    ]
    torch.testing.assert_close(subset, torch.stack(rows).mean())


def test_meow_info_nce_gradcheck():
    torch.manual_seed(2)
    a = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    c = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, y: meow_info_nce(x, y, ASSIGNMENTS, temperature=0.3), (a, c)
    )


def test_meow_info_nce_ignores_pairs_sharing_every_cluster():
    """Paper property: a negative in the same cluster in all K runs gets weight 0 (no push)."""
    torch.manual_seed(3)
    assignments = torch.tensor([[0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 1]])
    a, c = torch.randn(6, 5), torch.randn(6, 5)
    moved = c.clone()
    moved[1] = torch.randn(5)
    anchor = torch.tensor([0])
    before = meow_info_nce(a[[0]], c, assignments, temperature=0.5, anchor_index=anchor)
    after = meow_info_nce(a[[0]], moved, assignments, temperature=0.5, anchor_index=anchor)
    torch.testing.assert_close(before, after)
    moved[3] = torch.randn(5)
    changed = meow_info_nce(a[[0]], moved, assignments, temperature=0.5, anchor_index=anchor)
    assert not torch.allclose(before, changed)


def test_meow_info_nce_rejects_mismatched_assignments():
    a = torch.randn(6, 4)
    with pytest.raises(ValueError, match="one column per candidate"):
        meow_info_nce(a, a, ASSIGNMENTS[:, :5], temperature=0.5)
    with pytest.raises(ValueError, match="one row per anchor_index"):
        meow_info_nce(a[:3], a, ASSIGNMENTS, temperature=0.5)
    with pytest.raises(ValueError, match="temperature"):
        meow_info_nce(a, a, ASSIGNMENTS, temperature=0.0)


def test_adaptive_weighted_info_nce_matches_reference_and_gradcheck():
    torch.manual_seed(5)
    net = NegativeWeightNet(4)
    a, c = torch.randn(5, 4), torch.randn(5, 4)
    torch.testing.assert_close(
        adaptive_weighted_info_nce(a, c, net, temperature=0.5),
        reference_adaptive(a, c, net, 0.5),
    )
    net64 = NegativeWeightNet(3).double()
    a64 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    c64 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, y: adaptive_weighted_info_nce(x, y, net64, temperature=0.5), (a64, c64)
    )


def test_adaptive_weights_reach_the_weight_network():
    torch.manual_seed(6)
    net = NegativeWeightNet(4)
    loss = adaptive_weighted_info_nce(torch.randn(5, 4), torch.randn(5, 4), net, temperature=0.5)
    loss.backward()
    assert net.first.weight.grad is not None and net.first.weight.grad.abs().sum() > 0


def test_adaptive_with_unit_weights_is_decoupled_info_nce():
    """Property: with every w_ij = 1 the loss is InfoNCE without the positive in the denominator."""
    torch.manual_seed(7)
    net = NegativeWeightNet(4)
    torch.nn.init.zeros_(net.second.weight)
    torch.nn.init.constant_(net.second.bias, 50.0)
    a, c = torch.randn(5, 4), torch.randn(5, 4)
    loss = adaptive_weighted_info_nce(a, c, net, temperature=0.5)
    logits = F.normalize(a, dim=1) @ F.normalize(c, dim=1).T / 0.5
    expected = torch.stack(
        [torch.logsumexp(logits[i][torch.arange(5) != i], 0) - logits[i, i] for i in range(5)]
    ).mean()
    torch.testing.assert_close(loss, expected)


def test_adaptive_rejects_anchor_count_mismatch():
    with pytest.raises(ValueError, match="anchors must be"):
        adaptive_weighted_info_nce(
            torch.randn(3, 4), torch.randn(5, 4), NegativeWeightNet(4), temperature=0.5
        )


def test_cross_view_matches_reference_and_gradcheck():
    torch.manual_seed(8)
    positives = torch.eye(5, dtype=torch.bool)
    positives[0, 3] = positives[3, 0] = positives[1, 2] = True
    u, v = torch.randn(5, 4), torch.randn(5, 4)
    torch.testing.assert_close(
        cross_view_info_nce(u, v, positives, temperature=0.5, balance=0.3),
        reference_cross_view(u, v, positives, 0.5, 0.3),
    )
    u64 = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    v64 = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, y: cross_view_info_nce(x, y, positives, temperature=0.5), (u64, v64)
    )


def test_cross_view_identical_orthogonal_views_give_known_value():
    """Identical orthonormal views, positives = self: each row is log(e^{1/t}+(N-1)) - 1/t."""
    views = torch.eye(4)
    loss = cross_view_info_nce(views, views, torch.eye(4, dtype=torch.bool), temperature=0.5)
    expected = math.log(math.exp(2.0) + 3.0) - 2.0
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_cross_view_rejects_bad_balance():
    with pytest.raises(ValueError, match="balance"):
        cross_view_info_nce(
            torch.randn(3, 2),
            torch.randn(3, 2),
            torch.eye(3, dtype=torch.bool),
            temperature=0.5,
            balance=1.5,
        )
