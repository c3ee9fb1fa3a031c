"""Spoken captions (real espeak-ng) as the third Symile modality beside images and captions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cl_core.datasets import synthesize_waveform
from cl_multimodal import spoken_captions
from cl_multimodal.data.shapes import COLORS
from cl_multimodal.spoken_captions import DEFAULT_VOICES, log_mel, spoken_log_mels
from cl_multimodal.spoken_symile import (
    LogMelAudioTower,
    SpokenSymileConfig,
    SpokenSymileTowers,
    spoken_triples,
    train_and_score_spoken,
)
from cl_multimodal.towers.vocabulary import WordVocabulary

pytestmark = pytest.mark.requires_data("espeak-ng")


def _first_color(caption: str) -> int:
    return tuple(COLORS).index(caption.split(" ")[1])


@pytest.fixture(scope="module")
def clip_cache(tmp_path_factory):
    """One cache of the 60 spoken clips, shared by the end-to-end tests."""
    return tmp_path_factory.mktemp("spoken")


def test_default_voices_are_distinct_espeak_speakers():
    assert {voice.synthesizer for voice in DEFAULT_VOICES} == {"espeak-ng"}
    assert len({voice.speaker_id for voice in DEFAULT_VOICES}) == len(DEFAULT_VOICES)


def test_log_mel_has_mel_bands_and_about_100_frames_per_second():
    wave, rate = synthesize_waveform("a blue square", DEFAULT_VOICES[0])
    assert rate == spoken_captions.SAMPLE_RATE
    mel = log_mel(wave, n_mels=40)
    assert mel.shape[0] == 40
    assert abs(mel.shape[1] - wave.size / 220) <= 2
    assert np.isfinite(mel).all()


def test_log_mel_resamples_other_rates_to_the_same_frame_rate():
    seconds = 0.5
    tone = np.sin(2 * np.pi * 440 * np.arange(int(16_000 * seconds)) / 16_000).astype(np.float32)
    native = np.sin(2 * np.pi * 440 * np.arange(int(22_050 * seconds)) / 22_050).astype(np.float32)
    resampled = log_mel(tone, n_mels=40, sample_rate=16_000)
    reference = log_mel(native, n_mels=40)
    assert resampled.shape == reference.shape
    # The 440 Hz tone lands in the same mel band at either input rate.
    assert resampled.mean(axis=1).argmax() == reference.mean(axis=1).argmax()


def test_cache_synthesizes_each_unique_caption_once(tmp_path, monkeypatch):
    calls: list[str] = []
    real = spoken_captions.synthesize_waveform

    def counting(text, voice):
        calls.append(text)
        return real(text, voice)

    monkeypatch.setattr(spoken_captions, "synthesize_waveform", counting)
    voice = DEFAULT_VOICES[0]
    items = [("a red circle", voice), ("a red circle", voice), ("a green square", voice)]
    first = spoken_log_mels(items, tmp_path, progress=False)
    assert sorted(calls) == ["a green square", "a red circle"]
    second = spoken_log_mels(items, tmp_path, progress=False)
    assert len(calls) == 2
    for item in first:
        np.testing.assert_array_equal(first[item], second[item])
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_cache_is_keyed_by_speaker(tmp_path):
    items = [("a red circle", voice) for voice in DEFAULT_VOICES[:2]]
    features = spoken_log_mels(items, tmp_path, progress=False)
    first, second = (features[item] for item in items)
    assert first.shape != second.shape or not np.array_equal(first, second)
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_spoken_log_mels_and_log_mel_bad_inputs(tmp_path):
    with pytest.raises(TypeError, match=r"items must be \(str, Voice\) pairs, got \(str, str\)"):
        spoken_log_mels([("a red circle", "en-us")], tmp_path, progress=False)
    with pytest.raises(ValueError, match="n_mels"):
        spoken_log_mels([("a red circle", DEFAULT_VOICES[0])], tmp_path, n_mels=0)
    with pytest.raises(ValueError, match="sample_rate"):
        log_mel(np.ones(100, dtype=np.float32), sample_rate=0)
    with pytest.raises(ValueError, match="waveform"):
        log_mel(np.zeros(0, dtype=np.float32))


def test_triples_follow_the_xor_construction():
    triples = spoken_triples(3000, 16, np.random.default_rng(0), voices=3)
    first_colors = [_first_color(t) for t in triples.texts]
    assert torch.equal(triples.text_colors, torch.tensor(first_colors))
    # The audio colour is independent of the text colour alone (XOR-like construction).
    joint = torch.zeros(5, 5)
    for text, target in zip(triples.text_colors, triples.target_colors, strict=True):
        joint[text, target] += 1
    conditional = joint / joint.sum(1, keepdim=True)
    torch.testing.assert_close(conditional, torch.full((5, 5), 0.2), atol=0.06, rtol=0)
    assert triples.images.shape == (3000, 3, 16, 16)


def test_tower_shapes_and_normalised_outputs():
    audio = LogMelAudioTower(n_mels=40, out_dim=12)
    assert audio(torch.randn(3, 40, 90)).shape == (3, 12)
    towers = SpokenSymileTowers(WordVocabulary.build(["a red circle left of a blue square"]), 12)
    reps = towers(
        torch.rand(2, 3, 32, 32), ("a red circle", "a blue square"), torch.randn(2, 40, 50)
    )
    for rep in reps:
        assert rep.shape == (2, 12)
        torch.testing.assert_close(rep.norm(dim=-1), torch.ones(2))
    with pytest.raises(ValueError, match="log_mels must have shape"):
        audio(torch.randn(3, 20, 90))


@pytest.mark.parametrize("method", ["symile", "clip"])
def test_tiny_end_to_end_train_and_zero_shot(method, clip_cache):
    config = SpokenSymileConfig(train_size=60, test_size=20, epochs=1, batch_size=30, dim=16)
    scores = train_and_score_spoken(method, config, clip_cache, progress=False)
    assert scores["chance"] == pytest.approx(0.2)
    for key in ("audio_from_image_text_acc", "text_from_image_audio_acc"):
        assert 0.0 <= scores[key] <= 1.0
    assert np.isfinite(scores["final_loss"])
    assert len(list(clip_cache.glob("*.npy"))) == 60


def test_experiment_bad_inputs(clip_cache):
    with pytest.raises(ValueError, match="method must be"):
        train_and_score_spoken("infonce", SpokenSymileConfig(), clip_cache)
    with pytest.raises(TypeError, match="config must be"):
        train_and_score_spoken("symile", {"epochs": 1}, clip_cache)
    with pytest.raises(ValueError, match="batch_size"):
        SpokenSymileConfig(train_size=10, batch_size=20)
    with pytest.raises(ValueError, match="image_size"):
        SpokenSymileConfig(image_size=8)
