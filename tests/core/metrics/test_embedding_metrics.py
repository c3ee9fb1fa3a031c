"""Alignment, uniformity and tolerance against loops written from the papers' formulas."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from cl_core.metrics import (
    Alignment,
    Tolerance,
    Uniformity,
    alignment,
    tolerance,
    uniformity,
)


def unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=1, keepdim=True)


def loop_alignment(z1, z2, alpha):
    """E ||f(x) - f(y)||^alpha over positive pairs (Wang & Isola 2020)."""
    total = 0.0
    for a, b in zip(z1.tolist(), z2.tolist(), strict=True):
        total += math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True))) ** alpha
    return total / len(z1)


def loop_uniformity(z, t):
    """log of the mean of exp(-t ||z_i - z_j||^2) over distinct pairs i < j."""
    rows = z.tolist()
    potentials = [
        math.exp(-t * sum((x - y) ** 2 for x, y in zip(rows[i], rows[j], strict=True)))
        for i, j in itertools.combinations(range(len(rows)), 2)
    ]
    return math.log(sum(potentials) / len(potentials))


def loop_tolerance(z, labels):
    """Mean z_i . z_j over distinct pairs with the same label (Wang & Liu 2021)."""
    rows, ys = z.tolist(), labels.tolist()
    values = [
        sum(x * y for x, y in zip(rows[i], rows[j], strict=True))
        for i in range(len(rows))
        for j in range(len(rows))
        if i != j and ys[i] == ys[j]
    ]
    return sum(values) / len(values)


@pytest.mark.parametrize("alpha", [1.0, 2.0, 3.0])
def test_alignment_matches_loop(alpha) -> None:
    generator = torch.Generator().manual_seed(0)
    z1 = unit(torch.randn(7, 5, generator=generator, dtype=torch.float64))
    z2 = unit(torch.randn(7, 5, generator=generator, dtype=torch.float64))
    assert float(alignment(z1, z2, alpha)) == pytest.approx(loop_alignment(z1, z2, alpha))


@pytest.mark.parametrize("t", [0.5, 2.0])
def test_uniformity_matches_loop(t) -> None:
    z = unit(torch.randn(9, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    assert float(uniformity(z, t)) == pytest.approx(loop_uniformity(z, t))


def test_tolerance_matches_loop() -> None:
    generator = torch.Generator().manual_seed(2)
    z = unit(torch.randn(10, 3, generator=generator, dtype=torch.float64))
    labels = torch.tensor([0, 1, 0, 2, 1, 1, 0, 3, 2, 0])
    assert float(tolerance(z, labels)) == pytest.approx(loop_tolerance(z, labels))


def test_gradients_match_finite_differences() -> None:
    generator = torch.Generator().manual_seed(3)
    z1 = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1])
    assert torch.autograd.gradcheck(lambda a, b: alignment(a, b, 2.0), (z1, z2))
    assert torch.autograd.gradcheck(lambda a: uniformity(a, 2.0), (z1,))
    assert torch.autograd.gradcheck(lambda a: tolerance(a, labels), (z1,))


def test_uniformity_is_zero_for_collapse_and_lower_for_spread_points() -> None:
    collapsed = unit(torch.ones(12, 3))
    angles = torch.arange(12) * (2 * math.pi / 12)
    spread = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    assert float(uniformity(collapsed)) == pytest.approx(0.0, abs=1e-6)
    assert float(uniformity(spread)) < -1.0


def test_uniformity_is_minimised_by_antipodal_points() -> None:
    """On the circle two points are most uniform when opposite: log e^{-2*4} = -8."""
    antipodal = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    assert float(uniformity(antipodal)) == pytest.approx(-8.0)
    for angle in np.linspace(0.1, math.pi - 0.1, 7):
        other = torch.tensor([[1.0, 0.0], [math.cos(angle), math.sin(angle)]], dtype=torch.float64)
        assert float(uniformity(other)) > -8.0


def test_alignment_is_zero_for_identical_views_and_four_for_opposite_ones() -> None:
    z = unit(torch.randn(6, 4, generator=torch.Generator().manual_seed(4)))
    assert float(alignment(z, z)) == 0.0
    assert float(alignment(z, -z)) == pytest.approx(4.0, rel=1e-5)


def test_tolerance_is_one_for_identical_class_members() -> None:
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert float(tolerance(z, torch.tensor([0, 0, 1, 1]))) == pytest.approx(1.0)
    assert float(tolerance(z, torch.tensor([0, 1, 0, 1]))) == pytest.approx(0.0)


def test_stateful_metrics_equal_the_function_on_the_concatenation() -> None:
    generator = torch.Generator().manual_seed(5)
    z1 = unit(torch.randn(10, 4, generator=generator, dtype=torch.float64))
    z2 = unit(torch.randn(10, 4, generator=generator, dtype=torch.float64))
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    align, unif, tol = Alignment(), Uniformity(), Tolerance()
    for part in (slice(0, 3), slice(3, 10)):
        align.update(z1[part], z2[part])
        unif.update(z1[part])
        tol.update(z1[part], labels[part])
    torch.testing.assert_close(align.compute(), alignment(z1, z2))
    torch.testing.assert_close(unif.compute(), uniformity(z1))
    torch.testing.assert_close(tol.compute(), tolerance(z1, labels))
    for metric in (align, unif, tol):
        metric.reset()
        with pytest.raises(RuntimeError, match="before any update"):
            metric.compute()


def test_bad_inputs_name_the_argument() -> None:
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="z1 and z2 must have the same shape"):
        alignment(z, torch.randn(5, 3))
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        alignment(z, z, alpha=0.0)
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        uniformity(torch.randn(1, 3))
    with pytest.raises(ValueError, match="z must be a 2-D tensor"):
        uniformity(torch.randn(4))
    with pytest.raises(TypeError, match="z must be a floating-point tensor"):
        uniformity(torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="z must be finite"):
        uniformity(torch.tensor([[0.0, float("nan")], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="labels must have length 4"):
        tolerance(z, torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="shared by two samples"):
        tolerance(z, torch.tensor([0, 1, 2, 3]))
