"""Probe/fine-tune protocol, validation-only selection, the CNN encoder and rotated real images."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from cl_core.registry import BenchContext
from cl_regression import training
from cl_regression.data import load_diabetes_table, load_rotated_fashion_mnist_table, rotate_images
from cl_regression.encoder import ConvEncoder, build_encoder
from cl_regression.experiment import ExperimentSpec, run_experiment
from cl_regression.training import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_TEMPERATURE,
    Standardizer,
    TrainConfig,
    TrainedRegressor,
    fit_linear_l1,
    fit_regressor,
)

TINY = TrainConfig(epochs=2, batch_size=32, hidden=(16,), embedding_dim=8)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes_table().arrays()


@pytest.fixture(scope="module")
def rotated(require_data):
    require_data("fashion-mnist")
    return load_rotated_fashion_mnist_table(48, max_angle=45.0, seed=2)


def _l1_objective(head: torch.nn.Linear, features: torch.Tensor, targets: torch.Tensor) -> float:
    with torch.no_grad():
        return float((head(features).squeeze(1) - targets).abs().sum())


def test_linear_l1_fit_is_optimal_and_robust_to_outliers():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(60, 3, generator=generator)
    targets = features @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    targets[:5] += 50.0  # gross outliers: least squares would follow them, L1 must not
    head = fit_linear_l1(features, targets)
    np.testing.assert_allclose(head.weight.squeeze(0), [1.0, -2.0, 0.5], atol=1e-4)
    best = _l1_objective(head, features, targets)
    for _ in range(20):
        nudged = torch.nn.Linear(3, 1)
        with torch.no_grad():
            nudged.weight.copy_(head.weight + 0.01 * torch.randn(1, 3, generator=generator))
            nudged.bias.copy_(head.bias + 0.01 * torch.randn(1, generator=generator))
        assert _l1_objective(nudged, features, targets) >= best - 1e-6
    with pytest.raises(ValueError, match="features must be"):
        fit_linear_l1(features, targets[:10])


def test_finetune_protocol_trains_the_extra_epochs_and_changes_the_model(diabetes):
    features, targets = diabetes
    linear = fit_regressor("supremix", features[:100], targets[:100], config=TINY, seed=0)
    tuned_config = replace(TINY, protocol="finetune", finetune_epochs=3)
    tuned = fit_regressor("supremix", features[:100], targets[:100], config=tuned_config, seed=0)
    assert linear.samples_seen == 2 * 100 and tuned.samples_seen == 5 * 100
    assert not np.allclose(linear.predict(features[:20]), tuned.predict(features[:20]))
    baseline = fit_regressor("l1", features[:100], targets[:100], config=tuned_config, seed=0)
    assert baseline.samples_seen == tuned.samples_seen  # the same total budget


@pytest.mark.parametrize("method", ["supremix", "supcon", "rnc"])
def test_finetuning_uses_the_l1_batch_size_for_every_method(diabetes, method, monkeypatch):
    batch_sizes: list[tuple[str, int]] = []
    end_to_end = training._train_end_to_end

    def recording(loss, *args, **kwargs):
        batch_sizes.append((loss, args[-2]))
        return end_to_end(loss, *args, **kwargs)

    monkeypatch.setattr(training, "_train_end_to_end", recording)
    config = replace(TINY, batch_size=None, protocol="finetune", finetune_epochs=1)
    fit_regressor(method, diabetes[0][:100], diabetes[1][:100], config=config, seed=0)
    assert batch_sizes == [("l1", DEFAULT_BATCH_SIZE["l1"])]
    assert DEFAULT_BATCH_SIZE[method] != DEFAULT_BATCH_SIZE["l1"] or method == "rnc"


@pytest.mark.parametrize("method", ["supremix", "supcon"])
def test_none_knobs_mean_the_method_defaults_and_reach_training(diabetes, method):
    features, targets = diabetes[0][:300], diabetes[1][:300]

    def embed(**knobs: float | int | None) -> np.ndarray:
        config = replace(TINY, epochs=1, **knobs)
        return fit_regressor(method, features, targets, config=config, seed=3).embed(features)

    default = embed(temperature=None, batch_size=None)
    temperature, batch_size = DEFAULT_TEMPERATURE[method], DEFAULT_BATCH_SIZE[method]
    explicit = embed(temperature=temperature, batch_size=batch_size)
    np.testing.assert_allclose(default, explicit, rtol=0, atol=0)
    assert not np.allclose(default, embed(temperature=4 * temperature, batch_size=batch_size))
    assert not np.allclose(default, embed(temperature=temperature, batch_size=batch_size // 2))
    assert TrainConfig().batch_size_for(method) == batch_size
    assert TrainConfig(batch_size=17).batch_size_for(method) == 17


def test_bad_protocol_and_encoder_names():
    with pytest.raises(ValueError, match="protocol must be"):
        TrainConfig(protocol="probe")
    with pytest.raises(ValueError, match="encoder must be"):
        TrainConfig(encoder="resnet")
    with pytest.raises(ValueError, match="finetune_epochs must be >= 0"):
        TrainConfig(finetune_epochs=-1)
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        TrainConfig(batch_size=1)
    for temperature in (0.0, -0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature must be None or a finite number > 0"):
            TrainConfig(temperature=temperature)
    with pytest.raises(ValueError, match="probe_targets must have shape"):
        fit_regressor("l1", np.zeros((8, 2)), np.arange(8.0), probe_targets=np.zeros(3))


def test_validation_selection_prefers_the_config_that_learns(diabetes):
    table = load_diabetes_table()
    frozen = replace(TINY, epochs=1, learning_rate=1e-9)
    learns = replace(TINY, epochs=30, learning_rate=1e-2)
    spec = ExperimentSpec("few_shot", split={"few_shot_size": 120, "max_test": 50})
    result = run_experiment(
        table, spec, methods=("l1",), seeds=(0, 1), candidates={"l1": (frozen, learns)}
    )
    metrics = result.metrics["l1"]
    assert metrics["selected"] == 1.0 and metrics["selected_std"] == 0.0
    assert metrics["val_mae"] > 0 and metrics["mae"] > 0
    with pytest.raises(ValueError, match="at least one config"):
        run_experiment(table, spec, methods=("l1",), seeds=(0,), candidates={"l1": ()})


def test_standardizer_can_share_one_scale_across_columns():
    values = np.array([[0.0, 0.0], [0.0, 4.0]])
    shared = Standardizer.fit(values, columnwise=False)
    np.testing.assert_allclose(shared.mean, [1.0, 1.0])
    np.testing.assert_allclose(shared.transform(values), (values - 1.0) / np.sqrt(3.0))
    np.testing.assert_allclose(shared.inverse(shared.transform(values)), values)
    np.testing.assert_allclose(Standardizer.fit(values).std, [1.0, 2.0])  # constant column -> 1


def test_conv_encoder_shapes_and_bad_sizes():
    encoder = ConvEncoder(16 * 16, channels=(4, 8), hidden=12, embedding_dim=5)
    assert encoder(torch.rand(3, 256)).shape == (3, 5)
    assert isinstance(build_encoder("cnn", 784, (32,), 6), ConvEncoder)
    with pytest.raises(ValueError, match="in_features must be side"):
        ConvEncoder(250)
    with pytest.raises(ValueError, match="kind must be"):
        build_encoder("vit", 784, (32,), 6)


def test_rotate_images_matches_exact_quarter_turns():
    images = np.random.default_rng(0).random((3, 9, 9))
    angles = np.array([0.0, 90.0, -90.0])
    rotated = rotate_images(images, angles)
    assert rotated.dtype == np.float32
    np.testing.assert_allclose(rotated[0], images[0], atol=1e-6)
    np.testing.assert_allclose(rotated[1], np.rot90(images[1], 1), atol=1e-5)
    np.testing.assert_allclose(rotated[2], np.rot90(images[2], -1), atol=1e-5)
    with pytest.raises(ValueError, match="images must be"):
        rotate_images(images, angles[:2])


def test_rotated_fashion_mnist_table_has_real_pixels_and_a_synthetic_angle(rotated):
    features, angles = rotated.arrays()
    assert features.shape == (48, 784) and features.min() >= 0 and features.max() <= 1.0001
    assert np.abs(angles).max() <= 45.0 and angles.std() > 10
    assert "synthetic target" in rotated.card and "Fashion-MNIST" in rotated.card
    again = load_rotated_fashion_mnist_table(48, max_angle=45.0, seed=2)
    np.testing.assert_array_equal(again.arrays()[1], angles)
    with pytest.raises(ValueError, match="max_angle must lie"):
        load_rotated_fashion_mnist_table(8, max_angle=0.0)
    with pytest.raises(ValueError, match="num_images must be"):
        load_rotated_fashion_mnist_table(2)


def test_cnn_regressor_trains_on_rotated_images_and_round_trips(rotated):
    features, angles = rotated.arrays()
    config = TrainConfig(epochs=1, batch_size=16, encoder="cnn", hidden=(16,), embedding_dim=4)
    fitted = fit_regressor("supremix", features[:40], angles[:40], config=config, seed=0)
    predictions = fitted.predict(features[40:])
    assert predictions.shape == (8,) and np.isfinite(predictions).all()
    restored = TrainedRegressor.from_state(fitted.state())
    np.testing.assert_allclose(restored.predict(features[40:]), predictions, rtol=1e-5)


@pytest.mark.requires_data("fashion-mnist")
def test_bench_row_on_rotated_images_is_labelled_real_with_synthetic_target(
    tmp_path: Path, monkeypatch
):
    from cl_regression import bench_run

    monkeypatch.setitem(
        bench_run._PROFILE_SETTINGS,
        "smoke",
        {**bench_run._PROFILE_SETTINGS["smoke"], "images": 40, "max_train": 30, "max_test": 10},
    )
    context = BenchContext(
        dataset="rotated-fashion-mnist", profile="smoke", seed=0, data_dir=None, out_dir=tmp_path
    )
    row = bench_run.run_supremix(context)
    assert row.data_kind == "real+synthetic-target" and row.encoder.startswith("CNN")
    assert set(row.baselines) == {"l1", "supcon"}
    for metrics in (row.metrics, *row.baselines.values()):
        assert metrics["mae"] > 0 and "spearman" in metrics
        assert any(name in metrics for name in ("mae_many", "mae_medium", "mae_few"))


def test_candidate_configs_give_every_method_the_same_epoch_budget_and_grid_size():
    from cl_regression.bench_run import PROBE_ALPHAS, candidate_configs

    candidates = candidate_configs(TrainConfig(epochs=40))
    assert {len(configs) for configs in candidates.values()} == {4}
    *linear, tuned = candidates["supremix"]
    assert [config.protocol for config in linear] == ["linear"] * 3 and tuned.protocol == "finetune"
    assert tuple(config.probe_alpha for config in linear) == PROBE_ALPHAS
    assert {config.end_to_end_epochs for configs in candidates.values() for config in configs} == {
        40
    }
    grid = {(config.learning_rate, config.weight_decay) for config in candidates["l1"]}
    assert len(grid) == 4 and max(rate for rate, _ in grid) == pytest.approx(3e-3)


def test_penalised_probe_shrinks_the_weights_down_to_the_median():
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(40, 4, generator=generator)
    targets = features @ torch.tensor([2.0, 0.0, -1.0, 0.5]) + torch.randn(40, generator=generator)
    norms = [
        float(fit_linear_l1(features, targets, alpha=alpha).weight.abs().sum())
        for alpha in (0.0, 0.05, 0.2)
    ]
    assert norms[0] > norms[1] > norms[2]
    flat = fit_linear_l1(features, targets, alpha=100.0)
    assert float(flat.weight.abs().max()) < 1e-6
    assert float(flat.bias) == pytest.approx(float(targets.median()), abs=0.3)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        fit_linear_l1(features, targets, alpha=-0.1)
    with pytest.raises(ValueError, match="probe_alpha must be >= 0"):
        TrainConfig(probe_alpha=-1.0)


def _penalised_l1_objective(head: torch.nn.Linear, features, targets, alpha: float) -> float:
    residual = _l1_objective(head, features.float(), targets.float()) / (2 * len(targets))
    return residual + alpha * float(head.weight.abs().sum())


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_linear_l1_retries_an_equivalent_rescaled_problem_when_highs_fails(monkeypatch, alpha):
    generator = torch.Generator().manual_seed(4)
    features = 5.0 + 0.1 * torch.randn(60, 5, generator=generator, dtype=torch.float64)
    targets = features @ torch.arange(1.0, 6.0, dtype=torch.float64) + 0.1 * torch.randn(
        60, generator=generator, dtype=torch.float64
    )
    direct = fit_linear_l1(features, targets, alpha=alpha)
    solve = training._solve_median_regression
    calls = []

    def fail_first(*args):
        calls.append(args)
        return None if len(calls) == 1 else solve(*args)

    monkeypatch.setattr(training, "_solve_median_regression", fail_first)
    retried = fit_linear_l1(features, targets, alpha=alpha)
    assert len(calls) == 2 and abs(float(calls[1][0].mean())) < 1e-9  # centred second try
    assert _penalised_l1_objective(retried, features, targets, alpha) == pytest.approx(
        _penalised_l1_objective(direct, features, targets, alpha), rel=1e-4
    )
    monkeypatch.setattr(training, "_solve_median_regression", lambda *args: None)
    with pytest.raises(RuntimeError, match="did not converge on features of shape"):
        fit_linear_l1(features, targets, alpha=alpha)


@pytest.mark.parametrize("pretrain_column", [None, 3])
def test_refitting_the_probe_equals_training_with_that_penalty(diabetes, pretrain_column):
    features, targets = diabetes
    fit_targets = targets[:120] if pretrain_column is None else features[:120, pretrain_column]
    probe_targets = None if pretrain_column is None else targets[:120]
    method = "supremix" if pretrain_column is None else "l1"
    penalised = replace(TINY, probe_alpha=0.01)
    direct = fit_regressor(
        method, features[:120], fit_targets, config=penalised, seed=0, probe_targets=probe_targets
    )
    unpenalised = fit_regressor(
        method, features[:120], fit_targets, config=TINY, seed=0, probe_targets=probe_targets
    )
    refitted = unpenalised.with_probe(features[:120], targets[:120], 0.01)
    np.testing.assert_allclose(
        refitted.predict(features[120:160]), direct.predict(features[120:160]), rtol=1e-5
    )
    assert not np.allclose(
        unpenalised.predict(features[120:160]), direct.predict(features[120:160])
    )


def test_selection_trains_one_encoder_for_candidates_differing_only_in_probe_penalty(
    monkeypatch,
):
    from cl_regression import experiment

    calls = []
    original = experiment.fit_regressor

    def counting(*args, **kwargs):
        calls.append(kwargs["config"])
        return original(*args, **kwargs)

    monkeypatch.setattr(experiment, "fit_regressor", counting)
    options = tuple(replace(TINY, probe_alpha=alpha) for alpha in (0.0, 0.01, 10.0))
    spec = ExperimentSpec("few_shot", split={"few_shot_size": 100, "max_test": 40})
    result = run_experiment(
        load_diabetes_table(),
        spec,
        methods=("supremix",),
        seeds=(0,),
        candidates={"supremix": options},
    )
    assert len(calls) == 2  # one encoder for the three validation candidates, one final fit
    assert calls[0].probe_alpha == 0.0
    assert calls[1] == options[int(result.metrics["supremix"]["selected"])]
