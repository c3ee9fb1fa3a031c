"""The synthesized corpus, its manifest, WAV reading and the log-mel front end."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile
import torch

from cl_speech.audio import SAMPLE_RATE, AudioFileError, LogMel, read_wav
from cl_speech.data.corpus import add_white_noise, build_corpus
from cl_speech.data.intents import INTENTS, Intent, phrasings
from cl_speech.data.manifest import COLUMNS, ManifestError, read_manifest
from cl_speech.data.voices import Voice, sample_voices


def test_intents_are_distinct_and_every_phrasing_names_the_location():
    assert len({intent.name for intent in INTENTS}) == len(INTENTS) == 24
    for intent in INTENTS:
        texts = phrasings(intent)
        assert len(set(texts)) == len(texts) >= 2
        if intent.location != "none":
            assert all(intent.location in text for text in texts)
    with pytest.raises(ValueError, match="intent must be one of INTENTS"):
        phrasings(Intent("fly", "kite", "none"))


@pytest.mark.requires_data("espeak-ng", "flite")
def test_sampled_voices_are_distinct_deterministic_and_use_both_synthesizers():
    voices = sample_voices(30, seed=3)
    assert len({voice.speaker_id for voice in voices}) == 30
    assert voices == sample_voices(30, seed=3)
    assert {voice.synthesizer for voice in voices} == {"espeak-ng", "flite"}
    with pytest.raises(ValueError, match="count must be >= 1"):
        sample_voices(0)


def test_tiny_corpus_manifest_wavs_and_data_card(tiny_corpus):
    utterances = read_manifest(tiny_corpus / "manifest.csv")
    assert len(utterances) == 3 * len(INTENTS)
    assert {u.intent for u in utterances} == {intent.name for intent in INTENTS}
    with (tiny_corpus / "manifest.csv").open() as handle:
        assert tuple(next(csv.reader(handle))) == COLUMNS
    for utterance in utterances[:5]:
        info = soundfile.info(tiny_corpus / utterance.path)
        assert info.duration > 0.3
    card = (tiny_corpus / "DATA_CARD.md").read_text()
    assert "synthesized" in card and "not" not in card.split("synthesized")[0][-5:]


def test_building_again_keeps_existing_wavs(tiny_corpus):
    first = read_manifest(tiny_corpus / "manifest.csv")[0]
    wav = tiny_corpus / first.path
    stamp = wav.stat().st_mtime_ns
    build_corpus(tiny_corpus, n_speakers=3, seed=0, progress=False)
    assert wav.stat().st_mtime_ns == stamp


def test_white_noise_has_the_requested_snr():
    rng = np.random.default_rng(0)
    signal = 0.3 * np.sin(np.linspace(0, 2000, 160_000)).astype(np.float32)
    noisy = add_white_noise(signal, 20.0, rng)
    noise = noisy - signal
    snr = 10 * np.log10(np.mean(signal**2) / np.mean(noise**2))
    assert abs(snr - 20.0) < 0.2


def test_voice_command_lines():
    espeak = Voice("espeak-ng", "en-us+f3", 160, 50).command("hello", "out.wav")
    assert espeak[:3] == ["espeak-ng", "-v", "en-us+f3"] and espeak[-1] == "hello"
    flite = Voice("flite", "slt", 1.1, 120).command("hello", "out.wav")
    assert "duration_stretch=1.1" in flite and flite[-2:] == ["-o", "out.wav"]


def test_read_wav_resamples_to_16k(tmp_path):
    tone = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000).astype(np.float32)
    soundfile.write(tmp_path / "tone.wav", np.stack((tone, tone), 1), 8000)
    waveform = read_wav(tmp_path / "tone.wav")
    assert waveform.dtype == torch.float32 and waveform.shape == (SAMPLE_RATE,)
    spectrum = torch.fft.rfft(waveform).abs()
    assert abs(int(spectrum.argmax()) - 440) <= 1


def test_read_wav_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not a wav file")
    with pytest.raises(AudioFileError, match=r"broken\.wav"):
        read_wav(bad)
    with pytest.raises(AudioFileError, match=r"missing\.wav"):
        read_wav(tmp_path / "missing.wav")


def test_log_mel_shapes_and_tone_lands_in_the_right_bin():
    front_end = LogMel(n_mels=40)
    assert front_end(torch.zeros(2, 16000)).shape == (2, 101, 40)
    low = front_end(torch.sin(2 * torch.pi * 300 * torch.arange(16000) / 16000))
    high = front_end(torch.sin(2 * torch.pi * 4000 * torch.arange(16000) / 16000))
    assert low.mean(0).argmax() < high.mean(0).argmax()
    with pytest.raises(ValueError, match="waveform must have shape"):
        front_end(torch.zeros(1, 1, 100))
    with pytest.raises(ValueError, match="n_mels must be >= 1"):
        LogMel(n_mels=0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("path,transcript\n", "line 1: header lacks column"),
        (",".join(COLUMNS) + "\n" + "a.wav,hi\n", "line 2: expected 8 fields, got 2"),
        (",".join(COLUMNS) + "\n" + "a.wav,,b,c,d,b_c_d,s,e\n", "line 2: empty transcript"),
        (",".join(COLUMNS) + "\n" + "a.wav,t,b,c,d,x_y_z,s,e\n", "line 2: intent 'x_y_z'"),
        (",".join(COLUMNS) + "\n", "no utterances"),
        ("", "empty file"),
    ],
)
def test_bad_manifests_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "manifest.csv"
    path.write_text(content)
    with pytest.raises(ManifestError, match=message) as error:
        read_manifest(path)
    assert str(path) in str(error.value)
