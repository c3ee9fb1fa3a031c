"""Cosine triplet (FaceNet / VSE++) and Hadsell et al.'s contrastive loss against loops."""

from __future__ import annotations

import pytest
import torch

from cl_core.losses import (
    ContrastiveMarginLoss,
    CosineTripletMarginLoss,
    contrastive_margin,
    triplet_margin,
)


def unit(v):
    return v / torch.sqrt(torch.sum(v * v, dim=-1, keepdim=True))


def loop_triplet(anchor, positive, margin, mining):
    """h_ij = max(0, m - a_i.p_i + a_i.p_j); hardest: max_{j != i}, all: mean_{j != i}."""
    a, p = unit(anchor), unit(positive)
    losses = []
    for i in range(len(a)):
        hinges = [
            torch.clamp(margin - torch.dot(a[i], p[i]) + torch.dot(a[i], p[j]), min=0.0)
            for j in range(len(p))
            if j != i
        ]
        losses.append(max(hinges, key=float) if mining == "hardest" else sum(hinges) / len(hinges))
    return torch.stack(losses)


def loop_contrastive(x1, x2, same, margin):
    """0.5 y d^2 + 0.5 (1 - y) max(0, m - d)^2 with d the Euclidean distance."""
    u1, u2 = unit(x1), unit(x2)
    losses = []
    for i in range(len(u1)):
        distance = torch.sqrt(torch.sum((u1[i] - u2[i]) ** 2))
        if bool(same[i]):
            losses.append(0.5 * distance**2)
        else:
            losses.append(0.5 * torch.clamp(margin - distance, min=0.0) ** 2)
    return torch.stack(losses)


@pytest.mark.parametrize("mining", ["hardest", "all"])
@pytest.mark.parametrize("margin", [0.1, 0.5])
def test_triplet_matches_loop(mining, margin) -> None:
    generator = torch.Generator().manual_seed(0)
    anchor = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    positive = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    expected = loop_triplet(anchor, positive, margin, mining)
    got = triplet_margin(anchor, positive, margin, mining=mining, reduction="none")
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        triplet_margin(anchor, positive, margin, mining=mining), expected.mean()
    )


def test_hardest_negative_bounds_the_average() -> None:
    anchor, positive = torch.randn(8, 5), torch.randn(8, 5)
    hardest = triplet_margin(anchor, positive, 0.3, mining="hardest", reduction="none")
    average = triplet_margin(anchor, positive, 0.3, mining="all", reduction="none")
    assert bool((hardest >= average - 1e-7).all())


def test_triplet_is_zero_when_positives_beat_negatives_by_the_margin() -> None:
    anchor = torch.eye(4)
    assert triplet_margin(anchor, anchor.clone(), 0.5).item() == 0.0


@pytest.mark.parametrize("mining", ["hardest", "all"])
def test_triplet_gradients_match_finite_differences(mining) -> None:
    generator = torch.Generator().manual_seed(1)
    anchor = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    positive = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, p: triplet_margin(a, p, 0.5, mining=mining), (anchor, positive)
    )


@pytest.mark.parametrize("margin", [0.5, 1.5])
def test_contrastive_matches_loop(margin) -> None:
    generator = torch.Generator().manual_seed(2)
    x1 = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    x2 = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    same = torch.tensor([True, False, True, False, False, True])
    expected = loop_contrastive(x1, x2, same, margin)
    torch.testing.assert_close(contrastive_margin(x1, x2, same, margin, reduction="none"), expected)
    torch.testing.assert_close(
        contrastive_margin(x1, x2, same.long(), margin, reduction="sum"), expected.sum()
    )


def test_contrastive_ignores_dissimilar_pairs_beyond_the_margin() -> None:
    x1 = torch.tensor([[1.0, 0.0]])
    x2 = torch.tensor([[-1.0, 0.0]])
    assert contrastive_margin(x1, x2, torch.tensor([False]), margin=1.0).item() == 0.0
    assert contrastive_margin(x1, x2, torch.tensor([True]), margin=1.0).item() == pytest.approx(2.0)


def test_contrastive_gradients_match_finite_differences() -> None:
    generator = torch.Generator().manual_seed(3)
    x1 = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    same = torch.tensor([True, False, False, True])
    assert torch.autograd.gradcheck(lambda a, b: contrastive_margin(a, b, same, 1.5), (x1, x2))


def test_modules_match_functions() -> None:
    a, b = torch.randn(5, 3), torch.randn(5, 3)
    same = torch.tensor([1, 0, 1, 0, 0])
    torch.testing.assert_close(
        CosineTripletMarginLoss(0.3, mining="all")(a, b), triplet_margin(a, b, 0.3, mining="all")
    )
    torch.testing.assert_close(
        ContrastiveMarginLoss(0.8)(a, b, same), contrastive_margin(a, b, same, 0.8)
    )


def test_bad_inputs_raise_naming_the_argument() -> None:
    with pytest.raises(ValueError, match=r"B >= 2"):
        triplet_margin(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="mining must be one of"):
        triplet_margin(torch.randn(3, 3), torch.randn(3, 3), mining="semi")
    with pytest.raises(ValueError, match="margin"):
        triplet_margin(torch.randn(3, 3), torch.randn(3, 3), margin=0.0)
    with pytest.raises(ValueError, match="anchor and positive must have the same"):
        triplet_margin(torch.randn(3, 3), torch.randn(4, 3))
    with pytest.raises(ValueError, match="is_positive must have length 3"):
        contrastive_margin(torch.randn(3, 3), torch.randn(3, 3), torch.tensor([True, False]))
    with pytest.raises(TypeError, match="is_positive must be a bool or integer"):
        contrastive_margin(torch.randn(2, 3), torch.randn(2, 3), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        contrastive_margin(torch.randn(2, 3), torch.randn(2, 3), torch.tensor([2, 0]))
    with pytest.raises(ValueError, match="x1 must be finite"):
        contrastive_margin(
            torch.full((2, 3), float("inf")), torch.randn(2, 3), torch.tensor([1, 0])
        )
