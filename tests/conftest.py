"""Shared fixtures: where the real data sets live.

The data copies in ``shared/data`` sit beside the repository (``../shared/data`` from its
root) and are never committed; ``CL_DATA_DIR`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The directory holding the shared real data sets (``sts/``, ``heco/``, ``hh-rlhf/``)."""
    env = os.environ.get("CL_DATA_DIR")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data directory {path} is absent (set CL_DATA_DIR)")
    return path
