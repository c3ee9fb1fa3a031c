"""Fixtures of the cl-rlhf tests: the real HH-RLHF pairs."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir(require_data) -> Path:
    """A folder holding ``hh-rlhf/`` (the shared data, or wherever the source chain finds it)."""
    return require_data("hh-rlhf")["hh-rlhf"].parent
