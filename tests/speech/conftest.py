"""A tiny synthesized corpus, built once per test session with the real espeak-ng and flite."""

from __future__ import annotations

from pathlib import Path

import pytest

from cl_speech.data.corpus import build_corpus


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 synthetic voices x 24 intents = 72 utterances."""
    # Named as the bench's smoke corpus so that bench tests reuse it (CL_SPEECH_CACHE).
    folder = tmp_path_factory.mktemp("speech-cache") / "fsc-synth-3spk-seed0"
    build_corpus(folder, n_speakers=3, seed=0, progress=False)
    return folder
