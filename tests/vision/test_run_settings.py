"""The settings dataclasses of the vision recipes share one method check and one count check."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cl_vision.pixpro_training import PixProConfig
from cl_vision.run_settings import check_counts, check_method
from cl_vision.sepclr import SepCLRConfig
from cl_vision.training import TrainConfig


def test_check_method_names_the_choices_and_the_value() -> None:
    check_method("a", ("a", "b"))
    with pytest.raises(ValueError, match=r"method must be one of \('a', 'b'\), got 'c'"):
        check_method("c", ["a", "b"])


def test_check_counts_names_the_first_attribute_below_one() -> None:
    settings = SimpleNamespace(epochs=3, batch_size=0, space_dim=-1)
    check_counts(settings, ("epochs",))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        check_counts(settings, ("epochs", "batch_size", "space_dim"))


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (PixProConfig, "projection_dim"),
        (SepCLRConfig, "space_dim"),
        (TrainConfig, "queue_size"),
        (TrainConfig, "top_k"),
    ],
)
def test_every_recipe_config_refuses_a_zero_count(settings, field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be >= 1, got 0"):
        settings(**{field: 0})
