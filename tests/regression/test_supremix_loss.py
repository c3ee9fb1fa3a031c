"""SupReMix loss: loop reference from the formula, gradients, bad inputs, mixture properties."""

from __future__ import annotations

import math

import pytest
import torch

from cl_regression.losses import MixturePlan, SupReMixLoss, sample_mixture_plan, supremix_loss
from cl_regression.losses.mixtures import mix_embeddings, mixture_targets


def reference_supremix(z, y, bins, plan, tau, base_tau, weighting):
    """Per-anchor loss written term by term from the formula (float64 Python loops)."""
    z = torch.nn.functional.normalize(z, dim=1)
    n = z.shape[0]
    losses = []
    for i in range(n):
        positives, negatives = [], []
        for a in range(n):
            if a == i:
                continue
            (positives if bins[a] == bins[i] else negatives).append((z[a], float(y[a])))
        for r in range(plan.negative_partner.shape[1]):
            if plan.negative_valid[i, r]:
                lam, k = float(plan.negative_lambda[i, r]), int(plan.negative_partner[i, r])
                m = lam * z[i] + (1 - lam) * z[k]
                negatives.append((m / m.norm(), lam * float(y[i]) + (1 - lam) * float(y[k])))
        for r in range(plan.positive_low.shape[1]):
            if plan.positive_valid[i, r]:
                lam = float(plan.positive_lambda[i, r])
                j, k = int(plan.positive_low[i, r]), int(plan.positive_high[i, r])
                m = lam * z[j] + (1 - lam) * z[k]
                positives.append((m / m.norm(), float(y[i])))
        if not positives:
            losses.append(None)
            continue

        def weight(label, i=i):
            gap = abs(float(y[i]) - label)
            if weighting == "l1":
                return 1 / (1 + gap)
            if weighting == "l2":
                return 1 / (1 + gap**2)
            return 1.0

        denominator = sum(torch.exp(z[i] @ c / tau) for c, _ in positives) + sum(
            weight(lab) * torch.exp(z[i] @ c / tau) for c, lab in negatives
        )
        terms = [-(z[i] @ c / tau - torch.log(denominator)) for c, _ in positives]
        losses.append(sum(terms) / len(terms) * tau / base_tau)
    return losses


def _batch(seed=0, n=8, dim=4):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    y = torch.tensor([0.0, 0.1, 1.0, 1.2, 2.0, 2.5, 3.0, 3.3], dtype=torch.float64)[:n]
    bins = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])[:n]
    plan = sample_mixture_plan(
        y, bins, num_negative_mixtures=2, num_positive_mixtures=2, generator=gen
    )
    return z, y, bins, plan


@pytest.mark.parametrize("weighting", ["l1", "l2", "none"])
def test_matches_loop_reference(weighting):
    z, y, bins, plan = _batch()
    got = supremix_loss(
        z,
        y,
        bin_labels=bins,
        plan=plan,
        temperature=0.5,
        base_temperature=0.07,
        distance_weighting=weighting,
        reduction="none",
    )
    expected = reference_supremix(z, y, bins, plan, 0.5, 0.07, weighting)
    for i, value in enumerate(expected):
        assert value is not None
        torch.testing.assert_close(got[i], value)
    torch.testing.assert_close(
        supremix_loss(
            z,
            y,
            bin_labels=bins,
            plan=plan,
            temperature=0.5,
            base_temperature=0.07,
            distance_weighting=weighting,
        ),
        torch.stack(expected).mean(),
    )


def test_hand_worked_example_with_one_mixture_of_each_kind():
    """Three samples in their own bins, worked out on paper with cos 45 deg = 1/sqrt(2).

    Anchor 1 (y=1, z=e_x): hard positive m+ = (z_0 + z_2)/2 with lambda = (2-1)/(2-0) = 1/2 and
    z_0 = e_y, z_2 = e_x, so s(1, m+) = 1/sqrt(2); hard negative m- = (z_1 + z_0)/2 (label 1/2,
    weight 1/(1+1/2)), also at 1/sqrt(2); real negatives z_0 (s=0) and z_2 (s=1), label gap 1,
    weight 1/2. With tau=1: l_1 = log(e^c (1 + 2/3) + 1/2 + e/2) - c, c = 1/sqrt(2). Anchors 0
    and 2 have nothing below / above them, hence no positive, and are left out.
    """
    y = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    z = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    plan = MixturePlan(
        negative_partner=torch.tensor([[1], [0], [1]]),
        negative_lambda=torch.tensor([[0.5], [0.5], [0.5]], dtype=torch.float64),
        negative_valid=torch.ones(3, 1, dtype=torch.bool),
        positive_low=torch.tensor([[0], [0], [0]]),
        positive_high=torch.tensor([[2], [2], [2]]),
        positive_lambda=torch.tensor([[0.5], [0.5], [0.5]], dtype=torch.float64),
        positive_valid=torch.tensor([[False], [True], [False]]),
    )
    c = 1 / math.sqrt(2)
    by_hand = math.log(math.exp(c) * (1 + 2 / 3) + 0.5 + math.e / 2) - c
    got = supremix_loss(
        z,
        y,
        bin_labels=torch.arange(3),
        plan=plan,
        temperature=1.0,
        base_temperature=1.0,
        reduction="none",
    )
    torch.testing.assert_close(got, torch.tensor([0.0, by_hand, 0.0], dtype=torch.float64))
    reference = reference_supremix(z, y, torch.arange(3), plan, 1.0, 1.0, "l1")
    assert reference[0] is None and reference[2] is None
    torch.testing.assert_close(reference[1], torch.tensor(by_hand, dtype=torch.float64))
    sampled = sample_mixture_plan(y, torch.arange(3), num_positive_mixtures=1)
    assert float(sampled.positive_lambda[1, 0]) == 0.5


def test_anchors_without_positive_are_left_out_of_the_mean():
    z, y, _, _ = _batch()
    bins = torch.arange(8)
    plan = sample_mixture_plan(
        y,
        bins,
        num_negative_mixtures=1,
        num_positive_mixtures=1,
        generator=torch.Generator().manual_seed(1),
    )
    per_anchor = supremix_loss(z, y, bin_labels=bins, plan=plan, reduction="none")
    expected = reference_supremix(z, y, bins, plan, 0.07, 0.07, "l1")
    assert expected[0] is None and expected[-1] is None
    assert per_anchor[0] == 0 and per_anchor[-1] == 0
    kept = [value for value in expected if value is not None]
    torch.testing.assert_close(
        supremix_loss(z, y, bin_labels=bins, plan=plan), torch.stack(kept).mean()
    )


def test_gradients_match_finite_differences():
    z, y, bins, plan = _batch(n=6, dim=3)
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda e: supremix_loss(e, y, bin_labels=bins, plan=plan, temperature=0.5), (z,)
    )


def test_anchor_exclusive_lambda_reproduces_the_anchor_label():
    gen = torch.Generator().manual_seed(3)
    y = torch.rand(32, generator=gen, dtype=torch.float64) * 10
    bins = torch.bucketize(y, torch.tensor([2.5, 5.0, 7.5], dtype=torch.float64))
    plan = sample_mixture_plan(y, bins, num_positive_mixtures=4, generator=gen)
    _, positive_labels = mixture_targets(y, plan)
    valid = plan.positive_valid
    assert valid.any()
    torch.testing.assert_close(positive_labels[valid], y.unsqueeze(1).expand_as(valid)[valid])
    assert (y[plan.positive_low][valid] < y.unsqueeze(1).expand_as(valid)[valid]).all()
    assert (bins[plan.positive_high][valid] != bins.unsqueeze(1).expand_as(valid)[valid]).all()


def test_anchor_inclusive_mixtures_have_a_different_label_and_partner_bin():
    gen = torch.Generator().manual_seed(4)
    y = torch.arange(10, dtype=torch.float64)
    bins = y.long() // 3
    plan = sample_mixture_plan(y, bins, num_negative_mixtures=3, generator=gen)
    assert (bins[plan.negative_partner] != bins.unsqueeze(1)).all()
    assert ((plan.negative_lambda >= 0) & (plan.negative_lambda < 1)).all()


def test_mixtures_are_convex_combinations():
    z, _, _, plan = _batch()
    negatives, positives = mix_embeddings(z, plan)
    i, r = 2, 1
    lam = plan.negative_lambda[i, r]
    torch.testing.assert_close(
        negatives[i, r], lam * z[i] + (1 - lam) * z[plan.negative_partner[i, r]]
    )
    lam = plan.positive_lambda[i, r]
    expected = lam * z[plan.positive_low[i, r]] + (1 - lam) * z[plan.positive_high[i, r]]
    torch.testing.assert_close(positives[i, r], expected)


def test_hard_positive_mixture_lowers_the_loss_when_it_matches_the_anchor():
    """A positive mixture pointing at the anchor must make its term small (property of CE)."""
    y = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    bins = torch.arange(3)
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    plan = MixturePlan(
        negative_partner=torch.zeros(3, 0, dtype=torch.long),
        negative_lambda=torch.zeros(3, 0, dtype=torch.float64),
        negative_valid=torch.zeros(3, 0, dtype=torch.bool),
        positive_low=torch.tensor([[0], [0], [0]]),
        positive_high=torch.tensor([[2], [2], [2]]),
        positive_lambda=torch.tensor([[0.5], [0.5], [0.5]], dtype=torch.float64),
        positive_valid=torch.tensor([[False], [True], [False]]),
    )
    z[1] = torch.tensor([2.0, 1.0])  # the direction of the mixture (z_0 + z_2) / 2
    aligned = supremix_loss(z, y, bin_labels=bins, plan=plan, reduction="none")
    z_far = z.clone()
    z_far[1] = torch.tensor([-2.0, -1.0])
    misaligned = supremix_loss(z_far, y, bin_labels=bins, plan=plan, reduction="none")
    assert aligned[1] < misaligned[1]


def test_without_mixtures_and_weights_equals_supcon_out():
    """With no mixtures and no weights the loss is SupCon L_out (Khosla et al. 2020)."""
    z, y, bins, _ = _batch()
    got = supremix_loss(
        z,
        y,
        bin_labels=bins,
        num_negative_mixtures=0,
        num_positive_mixtures=0,
        distance_weighting="none",
        temperature=0.2,
        base_temperature=0.2,
    )
    zn = torch.nn.functional.normalize(z, dim=1)
    total = 0.0
    for i in range(8):
        others = [a for a in range(8) if a != i]
        log_den = torch.logsumexp(torch.stack([zn[i] @ zn[a] / 0.2 for a in others]), 0)
        pos = [a for a in others if bins[a] == bins[i]]
        total += sum(log_den - zn[i] @ zn[p] / 0.2 for p in pos) / len(pos)
    torch.testing.assert_close(got, total / 8)


def test_sampling_is_reproducible_with_a_generator():
    z, y, bins, _ = _batch()
    first = supremix_loss(z, y, bin_labels=bins, generator=torch.Generator().manual_seed(7))
    second = supremix_loss(z, y, bin_labels=bins, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(first, second)


def test_exact_targets_define_positives_when_no_bins_are_given():
    z, _, _, _ = _batch()
    y = torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0], dtype=torch.float64)
    plan = sample_mixture_plan(
        y, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]), generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(
        supremix_loss(z, y, plan=plan),
        supremix_loss(z, y, bin_labels=torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]), plan=plan),
    )


def test_module_matches_function():
    z, y, bins, _ = _batch()
    module = SupReMixLoss(temperature=0.3, distance_weighting="l2")
    expected = supremix_loss(
        z,
        y,
        bin_labels=bins,
        temperature=0.3,
        distance_weighting="l2",
        generator=torch.Generator().manual_seed(2),
    )
    got = module(z, y, bins, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(got, expected)
    assert "2309.16633" in module.citation


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"embeddings": torch.randn(4)}, ValueError, "embeddings must have shape"),
        ({"embeddings": torch.ones(4, 2, dtype=torch.long)}, TypeError, "floating"),
        ({"embeddings": torch.full((4, 2), math.nan)}, ValueError, "finite"),
        ({"targets": torch.zeros(3)}, ValueError, r"targets must have shape \(4,\)"),
        ({"targets": torch.zeros(4, dtype=torch.long)}, TypeError, "targets must be a floating"),
        ({"bin_labels": torch.zeros(4)}, TypeError, "bin_labels must be an integer"),
        ({"temperature": 0.0}, ValueError, "temperature must be a finite number > 0"),
        ({"distance_weighting": "l3"}, ValueError, "distance_weighting must be one of"),
        ({"num_positive_mixtures": -1}, ValueError, "num_positive_mixtures must be >= 0"),
        ({"bin_labels": torch.arange(4), "num_positive_mixtures": 0}, ValueError, "no anchor"),
    ],
)
def test_bad_inputs_raise(kwargs, error, match):
    arguments = {"embeddings": torch.randn(4, 2), "targets": torch.tensor([0.0, 0.0, 1.0, 1.0])}
    arguments.update(kwargs)
    embeddings, targets = arguments.pop("embeddings"), arguments.pop("targets")
    with pytest.raises(error, match=match):
        supremix_loss(embeddings, targets, **arguments)
