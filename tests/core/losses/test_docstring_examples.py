"""The Example sections of the InfoNCE-family and SepCLR docstrings run as they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "masked_logits",
    "nt_xent",
    "info_nce",
    "clip",
    "supcon",
    "decoupled",
    "input_label",
    "hard_negative",
    "margin",
    "sepclr",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name) -> None:
    module = importlib.import_module(f"cl_core.losses.{name}")
    result = doctest.testmod(module, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
