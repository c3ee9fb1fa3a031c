"""A tiny synthesized corpus, built once per test session with the real espeak-ng and flite."""

from __future__ import annotations

from pathlib import Path

import pytest

from cl_speech.data.corpus import build_corpus


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory, require_data) -> Path:
    """3 synthetic voices x 24 intents = 72 utterances."""
    require_data("espeak-ng", "flite")
    # Named as the bench's smoke corpus so that bench tests reuse it (CL_SPEECH_CACHE).
    folder = tmp_path_factory.mktemp("speech-cache") / "fsc-synth-3spk-seed0"
    build_corpus(folder, n_speakers=3, seed=0, progress=False)
    return folder


@pytest.fixture
def random_corpus(tmp_path: Path) -> Path:
    """A corpus folder of random log-mel features, no audio: 3 voices x 4 intents x 2 takes.

    ``load_slu_data`` reads the feature cache (``features-mel40.pt``) instead of the WAV files
    the manifest names, so ``cl-train speech --data`` trains on it without a synthesizer. Each
    intent has its own feature offset, so the intents are learnable.
    """
    import torch

    from cl_speech.data.manifest import Utterance, write_manifest

    folder = tmp_path / "random-corpus"
    folder.mkdir()
    generator = torch.Generator().manual_seed(0)
    words = ["turn", "on", "off", "lights", "music", "heat", "kitchen", "up"]
    utterances, features = [], []
    for speaker in range(3):
        for intent in range(4):
            action, thing, place = f"act{intent}", f"obj{intent % 2}", "none"
            text = " ".join(words[(intent + k) % len(words)] for k in range(2 + intent % 2))
            for take in range(2):
                path = f"wavs/s{speaker}-i{intent}-t{take}.wav"
                name = f"{action}_{thing}_{place}"
                utterances.append(
                    Utterance(path, text, action, thing, place, name, f"voice{speaker}", "none")
                )
                frames = 24 + int(torch.randint(0, 16, (1,), generator=generator))
                features.append(0.5 * intent + torch.randn(frames, 40, generator=generator))
    write_manifest(folder / "manifest.csv", utterances)
    torch.save(
        {"paths": [u.path for u in utterances], "features": features},
        folder / "features-mel40.pt",
    )
    return folder
