"""step_generator: equal arguments replay, different ones differ, the module uses it."""

from __future__ import annotations

import doctest

import pytest
import torch
from torch import nn

from cl_core.losses import nt_xent
from cl_core.training import ContrastiveModule, step_generator


def draws(seed: int, step: int, rank: int = 0) -> torch.Tensor:
    return torch.rand(8, generator=step_generator(seed, step, rank))


def test_equal_arguments_replay() -> None:
    assert torch.equal(draws(3, 10, 1), draws(3, 10, 1))


@pytest.mark.parametrize("other", [(4, 10, 1), (3, 11, 1), (3, 10, 0)])
def test_each_argument_changes_the_draws(other: tuple[int, int, int]) -> None:
    assert not torch.equal(draws(3, 10, 1), draws(*other))


def test_module_generator_is_the_function() -> None:
    module = ContrastiveModule(nn.Linear(4, 4), nt_xent, seed=7)
    expected = torch.rand(8, generator=step_generator(7, 0, 0))
    assert torch.equal(torch.rand(8, generator=module.step_generator()), expected)


@pytest.mark.parametrize(
    "arguments", [(-1, 0, 0), (0, -2, 0), (0, 0, -1), (0.5, 0, 0), (True, 0, 0)]
)
def test_bad_arguments(arguments: tuple) -> None:
    with pytest.raises(ValueError, match="must be an int >= 0"):
        step_generator(*arguments)


def test_docstring_example() -> None:
    import cl_core.training.randomness as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
