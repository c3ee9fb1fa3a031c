"""Reward head, preference strength and the recipes on synthetic pairs with a known true reward.

The synthetic data (features -> linear true reward, a known share of labels flipped) is the 2-core
check suggested for "Secrets of RLHF Part II" (arXiv:2401.06080): the ensemble's strength must
single out the flipped pairs, and flipping them must raise clean accuracy.
"""

from __future__ import annotations

import pytest
import torch

from cl_rlhf.experiment import CLEAN_BASELINE, NoiseExperiment, run_noise_experiment
from cl_rlhf.methods import METHODS, fit_method
from cl_rlhf.reward_head import RewardHead
from cl_rlhf.strength import preference_strength
from cl_rlhf.training import HeadTrainConfig, reward_margins, train_reward_head

FAST = HeadTrainConfig(epochs=8, batch_size=64, hidden_dim=32, learning_rate=3e-3)


def synthetic_pairs(num_pairs=300, dim=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    weights = torch.randn(dim, generator=gen)
    first, second = (
        torch.randn(num_pairs, dim, generator=gen),
        torch.randn(num_pairs, dim, generator=gen),
    )
    first_wins = (first @ weights > second @ weights).unsqueeze(1)
    return torch.where(first_wins, first, second), torch.where(first_wins, second, first)


def test_reward_head_shapes_dropout_views_and_bad_input():
    head = RewardHead(6, hidden_dim=16, dropout=0.5)
    features = torch.randn(4, 6)
    assert head(features).shape == (4,)
    head.train()
    assert not torch.equal(head.representation(features), head.representation(features))
    head.eval()
    torch.testing.assert_close(head.representation(features), head.representation(features))
    with pytest.raises(ValueError, match=r"features must have shape \(N, 6\)"):
        head(torch.randn(4, 5))
    with pytest.raises(ValueError, match="dropout"):
        RewardHead(6, dropout=1.0)


def test_preference_strength_is_mean_and_unbiased_std_over_models():
    margins = torch.tensor([[1.0, -1.0, 0.5], [3.0, -2.0, 0.5], [2.0, 0.0, 0.5]])
    strength = preference_strength(margins)
    torch.testing.assert_close(strength.mean, torch.tensor([2.0, -1.0, 0.5]))
    torch.testing.assert_close(strength.std, torch.tensor([1.0, 1.0, 0.0]))
    assert strength.suspect.tolist() == [False, True, False]
    with pytest.raises(ValueError, match="M >= 2"):
        preference_strength(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="finite"):
        preference_strength(torch.tensor([[0.0], [float("inf")]]))


def test_training_learns_the_true_preference_and_is_seeded():
    chosen, rejected = synthetic_pairs()
    head = train_reward_head(chosen, rejected, FAST, seed=5)
    accuracy = float((reward_margins(head, chosen, rejected) > 0).double().mean())
    assert accuracy > 0.8
    again = train_reward_head(chosen, rejected, FAST, seed=5)
    torch.testing.assert_close(
        reward_margins(again, chosen, rejected), reward_margins(head, chosen, rejected)
    )
    with pytest.raises(ValueError, match="one shape"):
        train_reward_head(chosen, rejected[:-1], FAST)
    with pytest.raises(ValueError, match=r"margin must have shape \(300,\)"):
        train_reward_head(chosen, rejected, FAST, margin=torch.zeros(3))
    with pytest.raises(ValueError, match="epochs"):
        HeadTrainConfig(epochs=0)


def test_strength_flags_flipped_pairs_and_flipping_them_cuts_label_errors():
    chosen, rejected = synthetic_pairs(num_pairs=500)
    experiment = NoiseExperiment(flip_fraction=0.3, ensemble_size=3, head=FAST)
    results = run_noise_experiment(chosen, rejected, ("bt", "flip"), experiment)
    assert results["flip"]["flip_detection_auc"] > 0.8
    assert results["flip"]["label_error_after_flip"] < 0.3
    assert 0.0 < results["flip"]["suspect_fraction"] < 0.6
    assert results[CLEAN_BASELINE]["test_accuracy"] > 0.8
    lost = results[CLEAN_BASELINE]["test_accuracy"] - results["bt"]["test_accuracy"]
    gained = results["flip"]["test_accuracy"] - results["bt"]["test_accuracy"]
    if lost > 0:
        assert results["flip"]["recovered"] == pytest.approx(gained / lost)


@pytest.mark.parametrize("method", METHODS)
def test_every_recipe_trains_and_beats_chance_on_clean_pairs(method):
    chosen, rejected = synthetic_pairs(num_pairs=200, seed=1)
    fit = fit_method(method, chosen, rejected, FAST, ensemble_size=2, seed=0)
    accuracy = float((reward_margins(fit.head, chosen, rejected) > 0).double().mean())
    assert accuracy > 0.8
    assert (fit.strength is not None) == (method in ("flip", "smooth", "margin"))


def test_recipes_reject_bad_arguments():
    chosen, rejected = synthetic_pairs(num_pairs=20)
    with pytest.raises(ValueError, match="method must be one of"):
        fit_method("metarm", chosen, rejected)
    with pytest.raises(ValueError, match="contrastive_weight"):
        fit_method("contrastive", chosen, rejected, FAST, contrastive_weight=0.0)
    wrong = preference_strength(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="strength must cover the 20"):
        fit_method("flip", chosen, rejected, FAST, strength=wrong)
    with pytest.raises(ValueError, match="methods must be a non-empty list"):
        run_noise_experiment(chosen, rejected, ["sirl"])
    with pytest.raises(ValueError, match="flip_fraction"):
        NoiseExperiment(flip_fraction=1.0)
