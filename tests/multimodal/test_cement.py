"""Cement loss against a loop reference, bad inputs, and its stated gradient properties."""

from __future__ import annotations

import math

import pytest
import torch

from cl_multimodal.cement import CementLoss, cement_loss, cement_margin_penalty
from cl_multimodal.negclip import negclip_loss


def _reference_penalty(pos, neg, concreteness, m0, m1, delta):
    """One pair at a time, from P = mean_i (1 + h_i/delta) h_i, h_i = max(0, m0 + m1 c_i - g_i)."""
    total = 0.0
    for p, n, c in zip(pos, neg, concreteness, strict=True):
        shortfall = max(m0 + m1 * c - (p - n), 0.0 * p)
        total = total + (1.0 + shortfall / delta) * shortfall
    return total / len(pos)


def _reference_cement(image, text, hard, concreteness, scale, weight, m0, m1, tau):
    unit = [x / x.norm(dim=1, keepdim=True) for x in (image, text, hard)]
    pos = torch.stack([unit[0][i] @ unit[1][i] for i in range(len(image))])
    neg = torch.stack([unit[0][i] @ unit[2][i] for i in range(len(image))])
    penalty = _reference_penalty(pos, neg, concreteness, m0, m1, tau)
    return negclip_loss(image, text, hard, scale) + weight * penalty


def test_penalty_matches_loop_reference_values_and_gradients():
    pos, neg = torch.rand(2, 6, dtype=torch.float64).unbind(0)
    concreteness = torch.rand(6, dtype=torch.float64)
    kwargs = {"margin": 0.3, "margin_per_concreteness": 0.4, "difficulty_scale": 0.2}
    torch.testing.assert_close(
        cement_margin_penalty(pos, neg, concreteness, **kwargs),
        _reference_penalty(pos, neg, concreteness, 0.3, 0.4, 0.2),
    )
    inputs = (pos.clone().requires_grad_(), neg.clone().requires_grad_())
    assert torch.autograd.gradcheck(
        lambda p, n: cement_margin_penalty(p, n, concreteness, **kwargs), inputs
    )


def test_cement_loss_matches_loop_reference_values_and_gradients():
    image, text, hard = torch.randn(3, 4, 5, dtype=torch.float64).unbind(0)
    concreteness = torch.rand(4, dtype=torch.float64)
    settings = {"penalty_weight": 2.0, "margin": 0.5, "margin_per_concreteness": 0.5}

    def ours(a, b, c):
        return cement_loss(a, b, c, concreteness, 3.0, difficulty_scale=0.3, **settings)

    reference = _reference_cement(image, text, hard, concreteness, 3.0, 2.0, 0.5, 0.5, 0.3)
    torch.testing.assert_close(ours(image, text, hard), reference)
    inputs = tuple(x.clone().requires_grad_() for x in (image, text, hard))
    assert torch.autograd.gradcheck(ours, inputs)


def test_zero_penalty_weight_is_negclip_and_module_uses_its_scale():
    image, text, hard = torch.randn(3, 5, 8).unbind(0)
    concreteness = torch.rand(5)
    torch.testing.assert_close(
        cement_loss(image, text, hard, concreteness, 7.0, penalty_weight=0.0),
        negclip_loss(image, text, hard, 7.0),
    )
    module = CementLoss(initial_log_logit_scale=math.log(7.0))
    torch.testing.assert_close(
        module(image, text, hard, concreteness), cement_loss(image, text, hard, concreteness, 7.0)
    )


def _hard_easy_batch(hard_pairs: int, easy_pairs: int):
    """Cosine similarities: hard pairs have the negative ahead, easy pairs clear the margin."""
    pos = torch.cat([torch.full((hard_pairs,), 0.4), torch.full((easy_pairs,), 0.65)])
    neg = torch.cat([torch.full((hard_pairs,), 0.45), torch.full((easy_pairs,), 0.35)])
    return pos.requires_grad_(), neg.requires_grad_()


def test_easy_pairs_dominate_infonce_gradient_but_get_none_from_cement():
    pos, neg = _hard_easy_batch(hard_pairs=2, easy_pairs=60)
    cement_margin_penalty(pos, neg, torch.full((62,), 0.5)).backward()
    cement_share = neg.grad[:2].abs().sum() / neg.grad.abs().sum()
    pos_nce, neg_nce = _hard_easy_batch(hard_pairs=2, easy_pairs=60)
    logits = 10.0 * torch.stack([pos_nce, neg_nce], dim=1)
    torch.nn.functional.cross_entropy(logits, torch.zeros(62, dtype=torch.long)).backward()
    infonce_share = neg_nce.grad[:2].abs().sum() / neg_nce.grad.abs().sum()
    assert float(neg.grad[2:].abs().max()) == 0.0
    assert float(neg_nce.grad[2:].abs().min()) > 0.0
    assert float(cement_share) == pytest.approx(1.0)
    assert float(infonce_share) < 0.5


def test_per_pair_gradient_grows_with_difficulty_and_margin_with_concreteness():
    gaps = torch.linspace(-0.4, 0.05, 10)
    pos = (0.5 + gaps / 2).requires_grad_()
    neg = (0.5 - gaps / 2).requires_grad_()
    cement_margin_penalty(pos, neg, torch.zeros(10)).backward()
    magnitude = neg.grad.abs()
    assert bool((magnitude[:-1] > magnitude[1:]).all())
    abstract = cement_margin_penalty(pos.detach(), neg.detach(), torch.zeros(10))
    concrete = cement_margin_penalty(pos.detach(), neg.detach(), torch.ones(10))
    assert float(concrete) > float(abstract)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((torch.ones(3), torch.ones(2), torch.ones(3)), {}, "negative_similarity must be 1-D"),
        ((torch.ones(3), torch.ones(3), torch.full((3,), 1.5)), {}, "concreteness must lie"),
        ((torch.ones(3), torch.ones(3), torch.ones(3)), {"margin": -1.0}, "must be >= 0"),
        (
            (torch.ones(3), torch.ones(3), torch.ones(3)),
            {"difficulty_scale": 0.0},
            "difficulty_scale",
        ),
        ((torch.ones(0), torch.ones(0), torch.ones(0)), {}, "at least one pair"),
        (([1.0], torch.ones(1), torch.ones(1)), {}, "positive_similarity must be a torch"),
    ],
)
def test_penalty_rejects_bad_input(args, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        cement_margin_penalty(*args, **kwargs)


def test_cement_loss_rejects_bad_input():
    image, text = torch.randn(2, 4, 8).unbind(0)
    with pytest.raises(ValueError, match="one negative per image"):
        cement_loss(image, text, torch.randn(3, 8), torch.rand(3), 5.0)
    with pytest.raises(ValueError, match="penalty_weight"):
        cement_loss(image, text, torch.randn(4, 8), torch.rand(4), 5.0, penalty_weight=-1.0)
    with pytest.raises(ValueError, match="difficulty_scale"):
        CementLoss(difficulty_scale=-0.1)
