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
    assert results["flip"]["suspect_precision"] > 0.5
    # Flipping a suspect set of share s and precision p changes the error by s * (1 - 2p).
    suspects, precision = results["flip"]["suspect_fraction"], results["flip"]["suspect_precision"]
    assert results["flip"]["label_error_after_flip"] == pytest.approx(
        0.3 + suspects * (1 - 2 * precision), abs=1e-3
    )
    assert results[CLEAN_BASELINE]["test_accuracy"] > 0.8
    lost = results[CLEAN_BASELINE]["test_accuracy"] - results["bt"]["test_accuracy"]
    gained = results["flip"]["test_accuracy"] - results["bt"]["test_accuracy"]
    if lost > 0:
        assert results["flip"]["recovered"] == pytest.approx(gained / lost)


def test_strength_ensemble_uses_its_own_head_config(monkeypatch):
    import cl_rlhf.experiment as experiment_module

    used = []
    real_estimate = experiment_module.estimate_strength

    def recording_estimate(chosen, rejected, config, *args, **kwargs):
        used.append(config)
        return real_estimate(chosen, rejected, config, *args, **kwargs)

    monkeypatch.setattr(experiment_module, "estimate_strength", recording_estimate)
    chosen, rejected = synthetic_pairs(num_pairs=120)
    member = HeadTrainConfig(epochs=1, hidden_dim=8)
    for strength_head, expected in ((member, member), (None, FAST)):
        used.clear()
        experiment = NoiseExperiment(
            flip_fraction=0.2, ensemble_size=2, head=FAST, strength_head=strength_head
        )
        run_noise_experiment(chosen, rejected, ("bt", "margin"), experiment)
        assert used == [expected]


def test_fit_method_trains_the_ensemble_with_strength_config(monkeypatch):
    import cl_rlhf.methods as methods_module

    used = []
    real_estimate = methods_module.estimate_strength

    def recording_estimate(chosen, rejected, config, *args, **kwargs):
        used.append(config)
        return real_estimate(chosen, rejected, config, *args, **kwargs)

    monkeypatch.setattr(methods_module, "estimate_strength", recording_estimate)
    chosen, rejected = synthetic_pairs(num_pairs=60)
    member = HeadTrainConfig(epochs=1, hidden_dim=8)
    fit_method("flip", chosen, rejected, FAST, ensemble_size=2, strength_config=member)
    fit_method("flip", chosen, rejected, FAST, ensemble_size=2)
    assert used == [member, FAST]


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


class _MemorisingHead(torch.nn.Module):
    """Reward 1 for rows it was trained on (as chosen), 0 otherwise."""

    def __init__(self, seen):
        super().__init__()
        self.seen = seen

    def forward(self, features):
        return (features[:, None, :] == self.seen[None]).all(-1).any(1).float()


def test_out_of_fold_margins_never_score_a_pair_with_a_model_that_saw_it(monkeypatch):
    from cl_rlhf import strength

    chosen, rejected = synthetic_pairs(num_pairs=30)
    monkeypatch.setattr(
        strength, "train_reward_head", lambda c, r, config, seed, engine: _MemorisingHead(c)
    )
    out_of_fold = strength.out_of_fold_margins(chosen, rejected, 3, num_folds=3, seed=0)
    assert out_of_fold.shape == (3, 30)
    assert bool((out_of_fold == 0).all())
    in_sample = strength.ensemble_margins(
        strength.fit_reward_ensemble(chosen, rejected, 3), chosen, rejected
    )
    assert bool((in_sample == 1).all())


def test_out_of_fold_strength_detects_flips_on_synthetic_pairs():
    chosen, rejected = synthetic_pairs(num_pairs=400, seed=2)
    flipped = torch.zeros(400, dtype=torch.bool)
    flipped[::4] = True
    swap = flipped.unsqueeze(1)
    noisy_chosen = torch.where(swap, rejected, chosen)
    noisy_rejected = torch.where(swap, chosen, rejected)
    from cl_rlhf.methods import estimate_strength

    found = estimate_strength(noisy_chosen, noisy_rejected, FAST, 3, num_folds=2, seed=0)
    precision = float(flipped[found.suspect].double().mean())
    recall = float(found.suspect[flipped].double().mean())
    assert precision > 0.6 and recall > 0.6


def test_out_of_fold_margins_reject_bad_arguments():
    from cl_rlhf.strength import out_of_fold_margins

    chosen, rejected = synthetic_pairs(num_pairs=10)
    with pytest.raises(ValueError, match="num_models must be >= 2"):
        out_of_fold_margins(chosen, rejected, 1)
    with pytest.raises(ValueError, match=r"num_folds must be in \[2, 10\]"):
        out_of_fold_margins(chosen, rejected, 2, num_folds=11)


def test_head_config_rejects_unknown_auxiliary():
    with pytest.raises(ValueError, match="contrastive_loss must be one of"):
        HeadTrainConfig(contrastive_loss="byol")
    with pytest.raises(ValueError, match="num_prototypes must be >= 1"):
        HeadTrainConfig(num_prototypes=0)


def test_weakest_marks_the_lowest_strength_pairs():
    strength = preference_strength(torch.tensor([[0.5, -1.0, 2.0, 0.1, 3.0]] * 2))
    assert strength.weakest(0.4).tolist() == [False, True, False, True, False]
    assert int(strength.weakest(0.0).sum()) == 0
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\]"):
        strength.weakest(1.5)


def test_weakest_fraction_sets_how_many_pairs_flip_and_smooth_treat():
    chosen, rejected = synthetic_pairs(num_pairs=100, seed=4)
    shared = preference_strength(torch.randn(2, 100, generator=torch.Generator().manual_seed(0)))
    for method in ("flip", "smooth"):
        fit = fit_method(method, chosen, rejected, FAST, strength=shared, weakest_fraction=0.2)
        assert int(fit.suspects.sum()) == 20
        assert bool(shared.mean[fit.suspects].max() <= shared.mean[~fit.suspects].min())
    default = fit_method("flip", chosen, rejected, FAST, strength=shared)
    assert torch.equal(default.suspects, shared.mean < 0)
    with pytest.raises(ValueError, match="weakest_fraction must be in"):
        NoiseExperiment(weakest_fraction=2.0)
