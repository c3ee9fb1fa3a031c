"""MetaRM (Wang et al. 2024, arXiv:2401.06080): objective, meta step, shift experiment."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from cl_rlhf.metarm import MetaRMConfig, length_buckets, metarm_objective, train_metarm_head
from cl_rlhf.shift_experiment import ShiftExperiment, run_length_shift_experiment
from cl_rlhf.training import HeadTrainConfig, train_reward_head


def reference_objective(rewards):
    total = 0.0
    for row in rewards.tolist():
        k = len(row)
        pairs = itertools.combinations(range(k), 2)
        total += 2 / k**2 * sum(1 / (1 + math.exp(-abs(row[i] - row[j]))) for i, j in pairs)
    return total / len(rewards)


def test_objective_matches_loop_reference():
    rewards = torch.randn(4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert float(metarm_objective(rewards)) == pytest.approx(reference_objective(rewards))


def test_objective_gradients_pass_gradcheck():
    rewards = torch.tensor([[0.3, -1.2, 0.8], [2.0, 0.1, -0.5]], dtype=torch.float64)
    assert torch.autograd.gradcheck(metarm_objective, (rewards.requires_grad_(),))


def test_objective_grows_as_shifted_rewards_spread_apart():
    close = metarm_objective(torch.tensor([[0.0, 0.1, 0.2]]))
    apart = metarm_objective(torch.tensor([[0.0, 3.0, 6.0]]))
    assert float(apart) > float(close)
    assert float(metarm_objective(torch.zeros(1, 2))) == pytest.approx(0.25)


def test_objective_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(P, k\) with P >= 1 and k >= 2"):
        metarm_objective(torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"shape \(P, k\)"):
        metarm_objective(torch.zeros(3))


def _toy(n=48, d=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(d, generator=gen)
    chosen, rejected = torch.randn(n, d, generator=gen), torch.randn(n, d, generator=gen)
    swap = ((chosen - rejected) @ direction < 0).unsqueeze(1)
    return (
        torch.where(swap, rejected, chosen),
        torch.where(swap, chosen, rejected),
        torch.randn(10, 2, d, generator=gen) * 3,
    )


def test_vanishing_meta_step_reduces_to_bradley_terry():
    chosen, rejected, shifted = _toy()
    config = HeadTrainConfig(epochs=3, batch_size=64, dropout=0.0, hidden_dim=8)
    plain = train_reward_head(chosen, rejected, config, seed=1)
    meta = train_metarm_head(chosen, rejected, shifted, config, MetaRMConfig(meta_lr=1e-12), seed=1)
    for got, expected in zip(meta.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("second_order", [False, True])
def test_meta_step_changes_the_fit_and_still_learns(second_order):
    chosen, rejected, shifted = _toy()
    config = HeadTrainConfig(epochs=40, batch_size=16, dropout=0.0, hidden_dim=8)
    plain = train_reward_head(chosen, rejected, config, seed=1)
    meta = train_metarm_head(
        chosen,
        rejected,
        shifted,
        config,
        MetaRMConfig(meta_lr=1.0, second_order=second_order),
        seed=1,
    )
    assert not torch.allclose(meta(chosen), plain(chosen))
    plain_accuracy = float((plain(chosen) > plain(rejected)).double().mean())
    assert float((meta(chosen) > meta(rejected)).double().mean()) >= plain_accuracy - 0.05 > 0.75


def test_train_metarm_rejects_bad_inputs():
    chosen, rejected, shifted = _toy()
    with pytest.raises(ValueError, match=r"shifted must have shape \(P, k >= 2, 6\)"):
        train_metarm_head(chosen, rejected, shifted[:, :1])
    with pytest.raises(ValueError, match="one shape"):
        train_metarm_head(chosen, rejected[:3], shifted)
    with pytest.raises(ValueError, match="meta_lr"):
        MetaRMConfig(meta_lr=0.0)


def test_length_buckets_split_at_the_quantile():
    short, long = length_buckets(torch.tensor([3.0, 10.0, 1.0, 7.0, 5.0]))
    assert short.tolist() == [True, False, True, False, True]
    assert (short ^ long).all()
    with pytest.raises(ValueError, match="quantile"):
        length_buckets(torch.ones(3), quantile=1.0)


def test_shift_experiment_reports_both_methods_on_disjoint_buckets():
    gen = torch.Generator().manual_seed(3)
    chosen, rejected = torch.randn(80, 5, generator=gen) + 0.5, torch.randn(80, 5, generator=gen)
    lengths = torch.arange(80, dtype=torch.float32)
    experiment = ShiftExperiment(seeds=(0, 1), head=HeadTrainConfig(epochs=2, hidden_dim=8))
    results = run_length_shift_experiment(chosen, rejected, lengths, experiment)
    assert set(results) == {"bt", "metarm"}
    for row in results.values():
        assert 0.0 <= row["shifted_test_accuracy"] <= 1.0
        assert row["num_train_pairs"] + row["num_shifted_test_pairs"] < 80
    with pytest.raises(ValueError, match=r"lengths must have shape \(80,\)"):
        run_length_shift_experiment(chosen, rejected, lengths[:5], experiment)
    with pytest.raises(ValueError, match="methods must be"):
        run_length_shift_experiment(chosen, rejected, lengths, experiment, methods=("maml",))
