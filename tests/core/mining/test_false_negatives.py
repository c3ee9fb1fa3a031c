"""Same-label masks and MEOW cluster-agreement weights (Yu & Li, SDM 2023) with the loss core."""

from __future__ import annotations

import math

import pytest
import torch

from cl_core.losses import masked_logits_loss
from cl_core.mining import (
    cluster_agreement_weights,
    kmeans_assignments,
    mask_to_log_weights,
    same_label_mask,
)


def loop_agreement_weights(assignments):
    """w_ij = K - sum_k [c_k(i) == c_k(j)]."""
    runs, n = assignments.shape
    return torch.tensor(
        [
            [
                runs - sum(int(assignments[k, i] == assignments[k, j]) for k in range(runs))
                for j in range(n)
            ]
            for i in range(n)
        ],
        dtype=torch.float32,
    )


def loop_weighted_info_nce(z1, z2, weights, tau):
    """MEOW: -log e^{s_ii/t} / sum_j w_ij e^{s_ij/t} (w_ii = 0 keeps the positive out)."""
    losses = []
    for i in range(z1.shape[0]):
        positive = float(torch.dot(z1[i], z2[i])) / tau
        denominator = sum(
            float(weights[i, j]) * math.exp(float(torch.dot(z1[i], z2[j])) / tau)
            for j in range(z2.shape[0])
        )
        losses.append(-positive + math.log(denominator))
    return torch.tensor(losses, dtype=torch.float64)


def test_same_label_mask_matches_a_loop() -> None:
    anchors, candidates = torch.tensor([0, 2, 1, 2]), torch.tensor([2, 0, 0, 1, 3])
    expected = torch.tensor(
        [[int(a) == int(c) for c in candidates] for a in anchors], dtype=torch.bool
    )
    assert torch.equal(same_label_mask(anchors, candidates), expected)


def test_agreement_weights_match_a_loop_and_vanish_on_the_diagonal() -> None:
    generator = torch.Generator().manual_seed(0)
    assignments = torch.stack([torch.randint(0, c, (9,), generator=generator) for c in (2, 3, 4)])
    weights = cluster_agreement_weights(assignments)
    assert torch.equal(weights, loop_agreement_weights(assignments))
    assert torch.equal(weights.diagonal(), torch.zeros(9))
    assert torch.equal(weights, weights.T)
    assert float(weights.min()) >= 0 and float(weights.max()) <= 3


def test_log_weights_in_the_loss_core_give_meows_weighted_info_nce() -> None:
    generator = torch.Generator().manual_seed(1)
    z1 = torch.nn.functional.normalize(
        torch.randn(6, 4, generator=generator, dtype=torch.float64), dim=1
    )
    z2 = torch.nn.functional.normalize(
        torch.randn(6, 4, generator=generator, dtype=torch.float64), dim=1
    )
    assignments = torch.tensor([[0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]])
    weights = cluster_agreement_weights(assignments).double()
    got = masked_logits_loss(
        z1,
        z2,
        temperature=0.4,
        positive_index=torch.arange(6),
        log_weights=torch.log(weights),
        positives_in_denominator="none",
        reduction="none",
    )
    torch.testing.assert_close(got, loop_weighted_info_nce(z1, z2, weights, 0.4))


def test_minus_infinity_log_weight_removes_the_negative() -> None:
    generator = torch.Generator().manual_seed(2)
    z1 = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    z2 = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1])
    drop = same_label_mask(labels, labels) & ~torch.eye(4, dtype=torch.bool)
    log_weights = mask_to_log_weights(drop).double()
    assert torch.equal(torch.isinf(log_weights), drop)
    with_weights = masked_logits_loss(
        z1,
        z2,
        temperature=1.0,
        positive_index=torch.arange(4),
        log_weights=log_weights,
        reduction="none",
    )
    with_mask = masked_logits_loss(
        z1,
        z2,
        temperature=1.0,
        positive_index=torch.arange(4),
        negative_mask=~drop,
        reduction="none",
    )
    torch.testing.assert_close(with_weights, with_mask)


def test_kmeans_runs_agree_on_well_separated_groups_and_are_seeded() -> None:
    generator = torch.Generator().manual_seed(3)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    group = torch.arange(30) % 3
    x = centres[group] + 0.1 * torch.randn(30, 2, generator=generator)
    runs = kmeans_assignments(x, [3, 3], seed=5)
    assert runs.shape == (2, 30)
    assert torch.equal(runs, kmeans_assignments(x, [3, 3], seed=5))
    weights = cluster_agreement_weights(runs)
    same_group = group.unsqueeze(0) == group.unsqueeze(1)
    assert bool((weights[same_group] == 0).all())
    assert bool((weights[~same_group] == 2).all())


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(TypeError, match="anchor_labels must be an integer tensor"):
        same_label_mask(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="drop_mask must be a bool tensor"):
        mask_to_log_weights(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="assignments must be a 2-D tensor"):
        cluster_agreement_weights(torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="assignments must be an integer tensor"):
        cluster_agreement_weights(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"cluster_counts must be an int in \[1, N=4\]"):
        kmeans_assignments(torch.randn(4, 2), [2, 5])
    with pytest.raises(ValueError, match="at least one cluster count"):
        kmeans_assignments(torch.randn(4, 2), [])
