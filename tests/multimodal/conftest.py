"""Fixtures of the cl-multimodal tests: the emoji npm package, seeding, one thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def emoji_dir(require_data) -> Path:
    """The folder of the npm package emoji-datasource-google (see ``requires_data``)."""
    return require_data("emoji")["emoji"]


@pytest.fixture(autouse=True)
def _one_thread_and_seed():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_num_threads(threads)
