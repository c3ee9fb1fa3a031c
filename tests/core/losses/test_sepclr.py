"""SepCLR against loops written from the paper's formulas, plus its properties and bad inputs."""

from __future__ import annotations

import math

import pytest
import torch

from cl_core.losses import (
    SepCLRLoss,
    gaussian_alignment,
    gaussian_uniformity,
    kernel_joint_entropy,
    sepclr,
)


def sq(a: torch.Tensor, b: torch.Tensor) -> float:
    return sum((float(x) - float(y)) ** 2 for x, y in zip(a, b, strict=True))


def loop_align(x, y, tau):
    return sum(sq(x[i], y[i]) for i in range(len(x))) / len(x) / (2 * tau)


def loop_unif(x, tau):
    terms = [
        math.exp(-sq(x[i], x[j]) / (2 * tau)) for i in range(len(x)) for j in range(i + 1, len(x))
    ]
    return math.log(sum(terms) / len(terms))


def loop_kjem(c, s, tau):
    n = len(c)
    rows = []
    for i in range(n):
        kernel = [
            math.exp(-sq(s[i], s[j]) / (2 * tau)) * math.exp(-sq(c[i], c[j]) / (2 * tau))
            for j in range(n)
        ]
        rows.append(math.log(sum(kernel) / n))
    return sum(rows) / n


def loop_sepclr(c1, c2, s1, s2, target, tau, beta_s, beta_reg, lam):
    def unit(rows):
        return [row / row.norm() for row in rows]

    c1, c2 = unit(c1), unit(c2)
    null1 = [s1[i] if target[i] else torch.zeros_like(s1[i]) for i in range(len(s1))]
    null2 = [s2[i] if target[i] else torch.zeros_like(s2[i]) for i in range(len(s2))]
    t = [i for i in range(len(target)) if target[i]]
    b = [i for i in range(len(target)) if not target[i]]
    common = loop_align(c1, c2, tau) + loop_unif(c1, tau) + loop_unif(c2, tau)
    salient = (
        loop_align([s1[i] for i in t], [s2[i] for i in t], tau)
        + loop_unif(null1, tau)
        + loop_unif(null2, tau)
    )
    zero = [torch.zeros_like(s1[0])] * len(b)
    reg = 0.5 * (
        loop_align(zero, [s1[i] for i in b], tau) + loop_align(zero, [s2[i] for i in b], tau)
    )
    jem = 0.5 * (loop_kjem(c1, null1, tau) + loop_kjem(c2, null2, tau))
    return common + beta_s * salient + beta_reg * reg + lam * jem


def batch(n: int = 7, dc: int = 4, ds: int = 3, seed: int = 0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    c1, c2 = (torch.randn(n, dc, generator=g, dtype=dtype) for _ in range(2))
    s1, s2 = (torch.randn(n, ds, generator=g, dtype=dtype) for _ in range(2))
    target = torch.arange(n) % 2 == 0
    return c1, c2, s1, s2, target


@pytest.mark.parametrize("tau", [0.5, 0.2])
def test_primitives_match_the_loops(tau: float) -> None:
    c1, c2, s1, _, _ = batch()
    assert gaussian_alignment(c1, c2, tau).item() == pytest.approx(loop_align(c1, c2, tau), 1e-5)
    assert gaussian_uniformity(s1, tau).item() == pytest.approx(loop_unif(s1, tau), 1e-5)
    assert kernel_joint_entropy(c1, s1, tau).item() == pytest.approx(
        loop_kjem(c1, s1, tau), rel=1e-5
    )


@pytest.mark.parametrize(
    ("tau", "beta_s", "beta_reg", "lam"), [(0.5, 1000.0, 1000.0, 10.0), (0.3, 1.0, 2.0, 0.5)]
)
def test_sepclr_matches_the_loop_reference(tau, beta_s, beta_reg, lam) -> None:
    c1, c2, s1, s2, target = batch(dtype=torch.float64)
    ours = sepclr(
        c1,
        c2,
        s1,
        s2,
        target,
        temperature=tau,
        beta_salient=beta_s,
        beta_reg=beta_reg,
        lambda_jem=lam,
    )
    reference = loop_sepclr(c1, c2, s1, s2, target, tau, beta_s, beta_reg, lam)
    assert ours.item() == pytest.approx(reference, rel=1e-9)
    module = SepCLRLoss(tau, beta_s, beta_reg, lam)
    assert module(c1, c2, s1, s2, target).item() == pytest.approx(reference, rel=1e-9)


def test_sepclr_gradients_pass_gradcheck() -> None:
    c1, c2, s1, s2, target = batch(n=5, dc=3, ds=2, seed=1, dtype=torch.float64)
    inputs = tuple(t.clone().requires_grad_(True) for t in (c1, c2, s1, s2))
    assert torch.autograd.gradcheck(
        lambda a, b, c, d: sepclr(a, b, c, d, target, beta_salient=3.0, beta_reg=2.0),
        inputs,
    )


def test_background_salient_codes_at_zero_cost_nothing_in_the_reg_term() -> None:
    c1, c2, s1, s2, target = batch(dtype=torch.float64)
    s1, s2 = s1 * target.unsqueeze(1), s2 * target.unsqueeze(1)
    only_reg = sepclr(c1, c2, s1, s2, target, beta_salient=0.0, beta_reg=1.0, lambda_jem=0.0)
    no_reg = sepclr(c1, c2, s1, s2, target, beta_salient=0.0, beta_reg=0.0, lambda_jem=0.0)
    assert only_reg.item() == pytest.approx(no_reg.item(), abs=1e-12)


def test_kjem_is_higher_when_the_spaces_share_information() -> None:
    # A salient code that copies the common one has a lower joint entropy than an independent one.
    g = torch.Generator().manual_seed(0)
    common = torch.randn(300, 2, generator=g)
    independent = torch.randn(300, 2, generator=g)
    assert kernel_joint_entropy(common, common.clone()) > kernel_joint_entropy(common, independent)


def test_uniformity_is_lower_for_spread_points() -> None:
    g = torch.Generator().manual_seed(0)
    spread = torch.randn(50, 3, generator=g)
    clustered = 0.05 * torch.randn(50, 3, generator=g)
    assert gaussian_uniformity(spread) < gaussian_uniformity(clustered)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"is_target": torch.ones(7, dtype=torch.bool)}, ValueError, "both target and background"),
        ({"is_target": torch.ones(7)}, TypeError, "is_target must be a bool tensor"),
        ({"is_target": torch.ones(6, dtype=torch.bool)}, ValueError, "is_target must have shape"),
        ({"salient2": torch.randn(7, 5)}, ValueError, "salient1"),
        ({"common1": torch.randn(7)}, ValueError, "common1"),
        ({"salient1": torch.randn(6, 3), "salient2": torch.randn(6, 3)}, ValueError, "rows"),
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"beta_reg": -1.0}, ValueError, "beta_reg must be >= 0"),
        ({"common1": torch.full((7, 4), float("nan"))}, ValueError, "common1"),
    ],
)
def test_bad_inputs_are_rejected(change: dict, error: type, match: str) -> None:
    c1, c2, s1, s2, target = batch()
    arguments = {
        "common1": c1,
        "common2": c2,
        "salient1": s1,
        "salient2": s2,
        "is_target": target,
        **change,
    }
    with pytest.raises(error, match=match):
        sepclr(**arguments)


def test_module_rejects_bad_weights_and_primitives_reject_tiny_batches() -> None:
    with pytest.raises(ValueError, match="lambda_jem must be >= 0"):
        SepCLRLoss(lambda_jem=-0.1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        gaussian_uniformity(torch.randn(1, 3))
    with pytest.raises(ValueError, match="same number of rows"):
        kernel_joint_entropy(torch.randn(3, 2), torch.randn(4, 2))
