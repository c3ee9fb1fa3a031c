"""Shared fixtures of the cl-text tests: the real data folders and one MiniLM per session."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_DIR = Path("/work/shared/data")
STS_DIR = DATA_DIR / "sts"
WORDNET_DIR = Path("/usr/share/wordnet")


@pytest.fixture(scope="session")
def sts_dir() -> Path:
    if not STS_DIR.is_dir():
        pytest.skip(f"shared STS data not present at {STS_DIR} (see shared/data.md)")
    return STS_DIR


@pytest.fixture(scope="session")
def wordnet_dir() -> Path:
    if not (WORDNET_DIR / "data.noun").is_file():
        pytest.skip(f"WordNet not installed at {WORDNET_DIR} (apt-get install wordnet-base)")
    return WORDNET_DIR


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    from cl_text.encoder import default_base_model

    return default_base_model()


@pytest.fixture(scope="session")
def minilm(minilm_path: Path):
    """The packaged all-MiniLM-L6-v2, loaded once (sentence-transformers takes ~25 s to import)."""
    from cl_text.encoder import load_sentence_encoder

    return load_sentence_encoder(minilm_path, max_seq_len=32)
