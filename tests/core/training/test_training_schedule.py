"""Warm-up + cosine schedule and the log-parametrised temperature."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from cl_core.training import LearnableTemperature, warmup_cosine_factor, warmup_cosine_schedule


def reference_factor(step: int, warmup: int, total: int, floor: float) -> float:
    """Written from the definition: linear ramp to 1 over ``warmup`` steps, then half a cosine."""
    if step < warmup:
        return (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return floor + (1 - floor) * (1 + math.cos(math.pi * progress)) / 2


@pytest.mark.parametrize(("warmup", "total", "floor"), [(0, 10, 0.0), (3, 10, 0.1), (5, 5, 0.0)])
def test_factor_matches_reference_at_every_step(warmup: int, total: int, floor: float) -> None:
    for step in range(total + 3):
        assert warmup_cosine_factor(step, warmup, total, floor) == pytest.approx(
            reference_factor(step, warmup, total, floor)
        )


def test_factor_rises_during_warmup_then_decays_to_the_floor() -> None:
    values = [warmup_cosine_factor(s, 4, 20, 0.05) for s in range(25)]
    assert values[:4] == sorted(values[:4])
    assert values[3] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(values[4:]))
    assert values[-1] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"step": -1}, "step"),
        ({"warmup_steps": -2}, "warmup_steps"),
        ({"total_steps": 0}, "total_steps"),
        ({"min_factor": 1.5}, "min_factor"),
    ],
)
def test_factor_rejects_bad_arguments(kwargs: dict, name: str) -> None:
    arguments = {"step": 0, "warmup_steps": 1, "total_steps": 10, "min_factor": 0.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        warmup_cosine_factor(**arguments)


def test_schedule_sets_the_learning_rate_of_each_step() -> None:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=0.2)
    scheduler = warmup_cosine_schedule(optimizer, warmup_steps=2, total_steps=6, min_factor=0.0)
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([0.2 * reference_factor(s, 2, 6, 0.0) for s in range(6)])


def test_learnable_temperature_is_exp_of_its_parameter_and_clamped() -> None:
    temperature = LearnableTemperature(0.1, min_value=0.05, max_value=0.5)
    assert float(temperature().detach()) == pytest.approx(0.1)
    loss = 1.0 / temperature()
    loss.backward()
    # d(1/exp(u))/du = -1/tau
    assert float(temperature.log_tau.grad) == pytest.approx(-10.0, rel=1e-5)
    with torch.no_grad():
        temperature.log_tau.fill_(math.log(5.0))
    assert float(temperature().detach()) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("initial", "low", "high"),
    [(0.0, 0.01, 1.0), (2.0, 0.01, 1.0), (0.1, 0.5, 0.2), (0.1, -1.0, 1.0)],
)
def test_learnable_temperature_rejects_bad_bounds(initial: float, low: float, high: float) -> None:
    with pytest.raises(ValueError, match=r"min_value|initial"):
        LearnableTemperature(initial, min_value=low, max_value=high)
