"""Fixtures of the cl-multimodal tests: the installed emoji npm package, seeding, one thread."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from cl_multimodal.data.emoji import DEFAULT_PREFIX, PACKAGE, PREFIX_ENV


@pytest.fixture(scope="session")
def emoji_dir() -> Path:
    """The npm prefix holding emoji-datasource-google ($CL_NPM_PREFIX or the default prefix)."""
    prefix = Path(os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX).expanduser()
    if not (prefix / "node_modules" / PACKAGE / "emoji.json").is_file():
        pytest.skip(
            f"npm package {PACKAGE} is absent under {prefix} "
            f"(npm install --prefix {prefix} {PACKAGE}, or set {PREFIX_ENV})"
        )
    return prefix


@pytest.fixture(autouse=True)
def _one_thread_and_seed():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_num_threads(threads)
