"""SIRL (Bobu et al., HRI 2023, arXiv:2301.00810): similarity-query loss, simulator, shift check."""

from __future__ import annotations

import math

import pytest
import torch

from cl_rlhf.losses import TRIPLET_PAIRS, SimilarityQueryLoss, similarity_query_loss
from cl_rlhf.sirl.experiment import (
    SIRLExperiment,
    answer_similarity_queries,
    preference_pairs,
    run_sirl_experiment,
)
from cl_rlhf.sirl.gridworld import GridworldConfig, simulate_trajectories


def reference_query_loss(first, second, third, answers):
    items = (first.tolist(), second.tolist(), third.tolist())
    total = 0.0
    for b, answer in enumerate(answers.tolist()):
        logits = []
        for i, j in TRIPLET_PAIRS:
            logits.append(-sum((x - y) ** 2 for x, y in zip(items[i][b], items[j][b], strict=True)))
        total += -(logits[answer] - math.log(sum(math.exp(v) for v in logits)))
    return total / len(answers)


def _triplets(batch=5, dim=3, seed=0, grad=False):
    gen = torch.Generator().manual_seed(seed)
    items = [
        torch.randn(batch, dim, generator=gen, dtype=torch.float64, requires_grad=grad)
        for _ in range(3)
    ]
    return items, torch.randint(3, (batch,), generator=gen)


def test_query_loss_matches_loop_reference():
    items, answers = _triplets()
    got = similarity_query_loss(*items, answers)
    assert float(got) == pytest.approx(reference_query_loss(*items, answers))
    per_query = similarity_query_loss(*items, answers, reduction="none")
    assert float(per_query.sum()) == pytest.approx(
        float(similarity_query_loss(*items, answers, reduction="sum"))
    )


def test_query_loss_gradients_pass_gradcheck():
    items, answers = _triplets(batch=3, grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: similarity_query_loss(a, b, c, answers), items)


def test_query_loss_is_translation_invariant_and_log3_for_identical_items():
    items, answers = _triplets()
    shift = torch.randn(1, 3, dtype=torch.float64)
    torch.testing.assert_close(
        similarity_query_loss(*(item + shift for item in items), answers),
        similarity_query_loss(*items, answers),
    )
    same = torch.zeros(4, 2)
    assert float(similarity_query_loss(same, same, same, torch.zeros(4, dtype=torch.long))) == (
        pytest.approx(math.log(3))
    )


def test_query_loss_is_lowest_when_the_answered_pair_is_closest():
    a, b, c = torch.tensor([[0.0]]), torch.tensor([[0.1]]), torch.tensor([[3.0]])
    losses = [float(similarity_query_loss(a, b, c, torch.tensor([k]))) for k in range(3)]
    assert losses[0] == min(losses)
    module = SimilarityQueryLoss()
    assert float(module(a, b, c, torch.tensor([0]))) == pytest.approx(losses[0])


def test_query_loss_rejects_bad_inputs():
    items, answers = _triplets()
    with pytest.raises(ValueError, match="share one shape"):
        similarity_query_loss(items[0], items[1][:2], items[2], answers)
    with pytest.raises(TypeError, match="int64"):
        similarity_query_loss(*items, answers.float())
    with pytest.raises(ValueError, match=r"in \{0, 1, 2\}"):
        similarity_query_loss(*items, answers + 3)
    with pytest.raises(ValueError, match="reduction"):
        similarity_query_loss(*items, answers, reduction="max")


def test_simulator_reward_is_goal_minus_hazard_and_modes_control_the_shortcut():
    config = GridworldConfig()
    correlated = simulate_trajectories(400, config, spurious="correlated", seed=0)
    independent = simulate_trajectories(400, config, spurious="independent", seed=0)
    torch.testing.assert_close(correlated.reward, correlated.causal[:, 0] - correlated.causal[:, 1])
    torch.testing.assert_close(correlated.observations[:, :36].sum(1), torch.ones(400))
    shortcut = correlated.observations[:, -1]
    assert torch.corrcoef(torch.stack((shortcut, correlated.reward)))[0, 1] > 0.95
    free = independent.observations[:, -1]
    assert abs(float(torch.corrcoef(torch.stack((free, independent.reward)))[0, 1])) < 0.2
    with pytest.raises(ValueError, match="spurious must be one of"):
        simulate_trajectories(4, spurious="anti")
    with pytest.raises(ValueError, match="size must be >= 4"):
        GridworldConfig(size=2)


def test_simulated_person_and_preference_pairs():
    a, b, c = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.2]])
    assert answer_similarity_queries(a, b, c).tolist() == [1]
    batch = simulate_trajectories(200, seed=1)
    pairs = preference_pairs(batch, 50, seed=0)
    assert pairs.shape == (50, 2)
    assert bool((batch.reward[pairs[:, 0]] > batch.reward[pairs[:, 1]]).all())


def test_sirl_reward_survives_the_shift_that_breaks_the_raw_reward():
    experiment = SIRLExperiment(num_queries=1000, num_test_pairs=500, encoder_epochs=25)
    results = run_sirl_experiment(experiment)
    sirl, raw = results["sirl"], results["raw"]
    assert raw["in_distribution_accuracy"] > 0.9
    assert sirl["shifted_accuracy"] > raw["shifted_accuracy"] + 0.2
    assert sirl["accuracy_drop"] < raw["accuracy_drop"]
    assert sirl["causal_probe_r2"] > 0.7
