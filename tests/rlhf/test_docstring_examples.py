"""The Example sections of the public docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "cl_rlhf.data.dialogue",
    "cl_rlhf.data.pairs",
    "cl_rlhf.data.splits",
    "cl_rlhf.encoding",
    "cl_rlhf.features",
    "cl_rlhf.losses.bradley_terry",
    "cl_rlhf.losses.reward_contrast",
    "cl_rlhf.losses.similarity_query",
    "cl_rlhf.losses.swav",
    "cl_rlhf.metarm",
    "cl_rlhf.metrics",
    "cl_rlhf.methods",
    "cl_rlhf.reward_head",
    "cl_rlhf.sirl.gridworld",
    "cl_rlhf.sirl.experiment",
    "cl_rlhf.strength",
    "cl_rlhf.training",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_pass(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
