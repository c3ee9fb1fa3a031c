"""Shared fixtures of the cl-text tests: the real data folders and one MiniLM per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sts_dir(require_data) -> Path:
    """The folder holding ``semeval/`` and ``sick2014/`` (the shared data's ``sts/``)."""
    return require_data("sts", "sick")["sick"].parent


@pytest.fixture(scope="session")
def wordnet_dir(require_data) -> Path:
    return require_data("wordnet")["wordnet"]


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    from cl_text.encoder import default_base_model

    return default_base_model()


@pytest.fixture(scope="session")
def minilm(minilm_path: Path):
    """The packaged all-MiniLM-L6-v2, loaded once (sentence-transformers takes ~25 s to import)."""
    from cl_text.encoder import load_sentence_encoder

    return load_sentence_encoder(minilm_path, max_seq_len=32)
