"""Reward-model losses against loop references written from the papers' formulas."""

from __future__ import annotations

import math

import pytest
import torch

from cl_rlhf.losses import BradleyTerryLoss, bradley_terry_loss, reward_contrast_loss


def reference_bt(chosen, rejected, margin, smoothing):
    terms = []
    for i in range(len(chosen)):
        gap = float(chosen[i] - rejected[i] - margin[i])
        sig = 1.0 / (1.0 + math.exp(-gap))
        terms.append(
            -(1 - float(smoothing[i])) * math.log(sig) - float(smoothing[i]) * math.log(1 - sig)
        )
    return terms


def reference_contrast(first, second, tau):
    n = first.shape[0]
    total = 0.0
    for i in range(n):
        sims = [
            float(torch.nn.functional.cosine_similarity(first[i], second[j], dim=0)) / tau
            for j in range(n)
        ]
        total += -(sims[i] - math.log(sum(math.exp(s) for s in sims)))
    return total / n


def _pairs(n=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=gen, dtype=torch.float64), torch.randn(
        n, generator=gen, dtype=torch.float64
    )


def test_bradley_terry_matches_loop_reference_with_margin_and_smoothing():
    chosen, rejected = _pairs()
    margin = torch.linspace(-1, 1, 6, dtype=torch.float64)
    smoothing = torch.linspace(0, 0.9, 6, dtype=torch.float64)
    got = bradley_terry_loss(
        chosen, rejected, margin=margin, label_smoothing=smoothing, reduction="none"
    )
    assert got.tolist() == pytest.approx(reference_bt(chosen, rejected, margin, smoothing))
    mean = bradley_terry_loss(chosen, rejected, margin=margin, label_smoothing=smoothing)
    assert float(mean) == pytest.approx(sum(reference_bt(chosen, rejected, margin, smoothing)) / 6)


def test_bradley_terry_plain_is_negative_log_sigmoid_of_gap():
    chosen, rejected = _pairs()
    expected = [
        -math.log(1 / (1 + math.exp(-(c - r))))
        for c, r in zip(chosen.tolist(), rejected.tolist(), strict=True)
    ]
    assert bradley_terry_loss(chosen, rejected, reduction="none").tolist() == pytest.approx(
        expected
    )
    assert float(bradley_terry_loss(chosen, rejected, reduction="sum")) == pytest.approx(
        sum(expected)
    )


def test_bradley_terry_gradients_pass_gradcheck():
    chosen, rejected = _pairs(4)
    chosen.requires_grad_(True)
    rejected.requires_grad_(True)
    margin = torch.tensor([0.3, -0.2, 0.0, 1.0], dtype=torch.float64, requires_grad=True)

    def loss(c, r, m):
        return bradley_terry_loss(c, r, margin=m, label_smoothing=0.2)

    assert torch.autograd.gradcheck(loss, (chosen, rejected, margin))


def test_smoothing_is_a_soft_label_swap_of_chosen_and_rejected():
    chosen, rejected = _pairs()
    soft = bradley_terry_loss(chosen, rejected, label_smoothing=0.3, reduction="none")
    swapped = bradley_terry_loss(rejected, chosen, label_smoothing=0.7, reduction="none")
    torch.testing.assert_close(soft, swapped)
    fully_flipped = bradley_terry_loss(chosen, rejected, label_smoothing=1.0, reduction="none")
    torch.testing.assert_close(
        fully_flipped, bradley_terry_loss(rejected, chosen, reduction="none")
    )


def test_margin_inside_sigmoid_raises_loss_on_confident_pairs():
    chosen, rejected = torch.tensor([2.0]), torch.tensor([0.0])
    without = bradley_terry_loss(chosen, rejected)
    with_margin = bradley_terry_loss(chosen, rejected, margin=torch.tensor([2.0]))
    assert float(with_margin) == pytest.approx(math.log(2.0))
    assert float(with_margin) > float(without)


def test_module_matches_function_and_per_pair_override():
    chosen, rejected = _pairs()
    module = BradleyTerryLoss(label_smoothing=0.1)
    torch.testing.assert_close(
        module(chosen, rejected), bradley_terry_loss(chosen, rejected, label_smoothing=0.1)
    )
    per_pair = torch.full((6,), 0.4, dtype=torch.float64)
    torch.testing.assert_close(
        module(chosen, rejected, label_smoothing=per_pair),
        bradley_terry_loss(chosen, rejected, label_smoothing=0.4),
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"chosen_reward": torch.zeros(3), "rejected_reward": torch.zeros(4)},
            ValueError,
            "same shape",
        ),
        (
            {"chosen_reward": torch.zeros(3, 1), "rejected_reward": torch.zeros(3, 1)},
            ValueError,
            r"\(N,\)",
        ),
        (
            {"chosen_reward": torch.zeros(3, dtype=torch.long), "rejected_reward": torch.zeros(3)},
            TypeError,
            "floating",
        ),
        (
            {"chosen_reward": torch.tensor([float("nan")]), "rejected_reward": torch.zeros(1)},
            ValueError,
            "finite",
        ),
        ({"label_smoothing": 1.5}, ValueError, r"label_smoothing must lie in \[0.0, 1.0\]"),
        (
            {"label_smoothing": torch.zeros(2)},
            ValueError,
            r"label_smoothing must have shape \(3,\)",
        ),
        ({"margin": "big"}, TypeError, "margin must be a float"),
        ({"reduction": "max"}, ValueError, "reduction"),
    ],
)
def test_bradley_terry_rejects_bad_inputs(kwargs, error, match):
    arguments = {"chosen_reward": torch.zeros(3), "rejected_reward": torch.zeros(3), **kwargs}
    with pytest.raises(error, match=match):
        bradley_terry_loss(**arguments)


@pytest.mark.parametrize("views", ["pairs", "differences"])
def test_reward_contrast_matches_loop_reference(views):
    gen = torch.Generator().manual_seed(1)
    h = [torch.randn(3, 5, generator=gen, dtype=torch.float64) for _ in range(4)]
    if views == "pairs":
        first, second = torch.cat((h[0], h[1])), torch.cat((h[2], h[3]))
    else:
        first = torch.cat((h[0] - h[1], h[1] - h[0]))
        second = torch.cat((h[2] - h[3], h[3] - h[2]))
    got = reward_contrast_loss(*h, views=views, temperature=0.5)
    assert float(got) == pytest.approx(reference_contrast(first, second, 0.5))


def test_reward_contrast_gradients_pass_gradcheck():
    gen = torch.Generator().manual_seed(2)
    h = [
        torch.randn(3, 4, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(4)
    ]
    assert torch.autograd.gradcheck(
        lambda a, b, c, d: reward_contrast_loss(a, b, c, d, views="differences", temperature=0.5), h
    )


def test_reward_contrast_of_identical_items_is_log_of_candidate_count():
    same = torch.ones(4, 8)
    loss = reward_contrast_loss(same, same, same, same, views="pairs")
    assert float(loss) == pytest.approx(math.log(8), rel=1e-5)


def test_reward_contrast_rejects_bad_inputs():
    h = torch.randn(3, 4)
    with pytest.raises(ValueError, match="views must be one of"):
        reward_contrast_loss(h, h, h, h, views="triplets")
    with pytest.raises(ValueError, match="share one shape"):
        reward_contrast_loss(h, h, h, torch.randn(2, 4))
    with pytest.raises(ValueError, match="temperature"):
        reward_contrast_loss(h, h, h, h, temperature=0.0)
