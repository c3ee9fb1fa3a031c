"""The shared espeak-ng / flite wrapper: real synthesis, voice validation and clear errors."""

from __future__ import annotations

import math
import shutil
import stat
import wave
from pathlib import Path

import numpy as np
import pytest

from cl_core.cli import UserFacingError
from cl_core.datasets import (
    SynthesisError,
    SynthesizerUnavailableError,
    Voice,
    espeak_variants,
    flite_voice_names,
    synthesize_waveform,
)

needs_espeak = pytest.mark.requires_data("espeak-ng")
needs_flite = pytest.mark.requires_data("flite")

ESPEAK = Voice("espeak-ng", "en-us+m3", 160, 45)
FLITE = Voice("flite", "slt", 1.0, 120)


def _assert_speech(waveform: np.ndarray, sample_rate: int, expected_rates: set[int]) -> None:
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert sample_rate in expected_rates
    assert 0.3 < waveform.size / sample_rate < 5.0
    assert np.abs(waveform).max() > 0.01
    assert waveform.min() >= -1.0 and waveform.max() < 1.0


@needs_espeak
def test_espeak_speech_is_deterministic_and_depends_on_the_voice():
    first, rate = synthesize_waveform("a red circle", ESPEAK)
    again, _ = synthesize_waveform("a red circle", Voice("espeak-ng", "en-us+m3", 160.0, 45.0))
    slower, _ = synthesize_waveform("a red circle", Voice("espeak-ng", "en-us+m3", 100, 45))
    female, _ = synthesize_waveform("a red circle", Voice("espeak-ng", "en-us+f3", 160, 45))
    _assert_speech(first, rate, {22_050})
    np.testing.assert_array_equal(first, again)
    assert slower.size > first.size
    assert female.shape != first.shape or not np.array_equal(female, first)


@needs_espeak
def test_espeak_speaks_text_that_starts_with_a_dash():
    waveform, rate = synthesize_waveform("-5 degrees", ESPEAK)
    _assert_speech(waveform, rate, {22_050})
    assert ESPEAK.command("-5 degrees", "out.wav")[-1] == " -5 degrees"
    assert ESPEAK.command("5 degrees", "out.wav")[-1] == "5 degrees"


@needs_flite
def test_flite_speech_is_deterministic_and_stretches_with_rate():
    first, rate = synthesize_waveform("make it warmer", FLITE)
    again, _ = synthesize_waveform("make it warmer", FLITE)
    stretched, _ = synthesize_waveform("make it warmer", Voice("flite", "slt", 1.5, 120))
    other, _ = synthesize_waveform("make it warmer", Voice("flite", "rms", 1.0, 120))
    _assert_speech(first, rate, {8_000, 16_000})
    np.testing.assert_array_equal(first, again)
    assert stretched.size > 1.3 * first.size
    assert other.shape != first.shape or not np.array_equal(other, first)


@needs_espeak
@needs_flite
def test_installed_voice_listings():
    variants = espeak_variants()
    names = flite_voice_names()
    assert variants and list(variants) == sorted(set(variants))
    assert all("/" not in variant and " " not in variant for variant in variants)
    assert "slt" in names and not any(name.endswith("_time") for name in names)
    # Every listed voice is accepted by the synthesizer.
    waveform, _ = synthesize_waveform("hi", Voice("espeak-ng", f"en-gb+{variants[0]}", 160, 50))
    assert np.any(waveform)


def test_voice_normalises_rate_and_pitch_and_names_the_speaker():
    voice = Voice("espeak-ng", "en-us+f3", 160, 50)
    assert voice == Voice("espeak-ng", "en-us+f3", 160.0, 50.0)
    assert isinstance(voice.rate, float) and isinstance(voice.pitch, float)
    assert voice.speaker_id == "espeak-ng:en-us+f3:r160:p50"
    assert FLITE.speaker_id == "flite:slt:r1:p120"
    assert len({ESPEAK, Voice("espeak-ng", "en-us+m3", 160.0, 45.0), FLITE}) == 2


def test_command_lines_are_the_ones_the_audio_was_built_with():
    espeak = ["espeak-ng", "-v", "en-us+m3", "-s", "160", "-p", "45", "-w", "out.wav", "hi there"]
    flite = ["flite", "-voice", "kal", "--setf", "duration_stretch=0.9", "--setf"]
    flite += ["int_f0_target_mean=197", "-t", "hi", "-o", "o.wav"]
    assert ESPEAK.command("hi there", "out.wav") == espeak
    assert Voice("flite", "kal", 0.9, 197).command("hi", "o.wav") == flite


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (("festival", "kal", 1.0, 100), ValueError, "synthesizer must be one of"),
        (("espeak-ng", "", 160, 50), ValueError, "voice must be a non-empty"),
        (("espeak-ng", "en us", 160, 50), ValueError, "without whitespace"),
        (("flite", 3, 1.0, 100), TypeError, "voice must be a string"),
        (("espeak-ng", "en-us", 10, 50), ValueError, r"rate must lie in \[80, 450\]"),
        (("espeak-ng", "en-us", 160, 120), ValueError, r"pitch must lie in \[0, 99\]"),
        (("espeak-ng", "en-us", 160.5, 50), ValueError, "rate must be a whole number"),
        (("espeak-ng", "en-us", 160, math.nan), ValueError, "pitch must lie"),
        (("flite", "slt", 160, 100), ValueError, r"rate must lie in \[0.25, 4\] for flite"),
        (("flite", "slt", 1.0, 10), ValueError, r"pitch must lie in \[40, 400\]"),
        (("flite", "slt", True, 100), TypeError, "rate must be a real number"),
        (("flite", "slt", 1.0, "100"), TypeError, "pitch must be a real number, got str"),
    ],
)
def test_voice_rejects_bad_settings(arguments, error, message):
    with pytest.raises(error, match=message):
        Voice(*arguments)


def test_synthesis_rejects_bad_text_and_voice():
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        synthesize_waveform("   ", ESPEAK)
    with pytest.raises(TypeError, match="text must be a string, got bytes"):
        synthesize_waveform(b"hi", ESPEAK)
    with pytest.raises(TypeError, match="voice must be a Voice, got str"):
        synthesize_waveform("hi", "en-us")


def test_missing_binary_is_a_user_error_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    for voice in (ESPEAK, FLITE):
        with pytest.raises(
            SynthesizerUnavailableError, match=f"apt-get install {voice.synthesizer}"
        ):
            synthesize_waveform("hi", voice)
    with pytest.raises(UserFacingError):
        espeak_variants()
    with pytest.raises(RuntimeError):
        flite_voice_names()


@needs_espeak
def test_synthesizer_failure_names_the_voice():
    with pytest.raises(SynthesisError, match="voice espeak-ng:xx-no-such-voice:r160:p50"):
        synthesize_waveform("hi", Voice("espeak-ng", "xx-no-such-voice", 160, 50))


def _fake_espeak(folder: Path, wav: Path) -> None:
    """An ``espeak-ng`` on PATH that copies ``wav`` to its ``-w`` argument (the 8th)."""
    script = folder / "espeak-ng"
    script.write_text(f'#!/bin/sh\ncp "{wav}" "$8"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def _write_wav(path: Path, frames: bytes, *, width: int = 2, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setsampwidth(width)
        writer.setnchannels(channels)
        writer.setframerate(22_050)
        writer.writeframes(frames)
    return path


@pytest.mark.skipif(shutil.which("sh") is None or shutil.which("cp") is None, reason="needs sh")
@pytest.mark.parametrize(
    ("frames", "width", "channels", "message"),
    [
        (bytes(2000), 2, 1, "produced silence"),
        (b"", 2, 1, "produced silence"),
        (bytes(range(200)) * 10, 2, 2, "16-bit 2-channel WAV.*expected 16-bit mono"),
        (bytes(range(200)) * 10, 1, 1, "8-bit 1-channel WAV"),
    ],
)
def test_unusable_audio_is_a_synthesis_error(
    tmp_path, monkeypatch, frames, width, channels, message
):
    wav = _write_wav(tmp_path / "canned.wav", frames, width=width, channels=channels)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_espeak(bin_dir, wav)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    with pytest.raises(SynthesisError, match=message):
        synthesize_waveform("hi", ESPEAK)


@pytest.mark.skipif(shutil.which("sh") is None or shutil.which("cp") is None, reason="needs sh")
def test_canned_wav_is_scaled_by_32768(tmp_path, monkeypatch):
    samples = np.array([0, 16_384, -32_768, 32_767, -1], dtype="<i2")
    wav = _write_wav(tmp_path / "canned.wav", samples.tobytes())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_espeak(bin_dir, wav)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    waveform, rate = synthesize_waveform("hi", ESPEAK)
    assert rate == 22_050
    np.testing.assert_array_equal(waveform, samples.astype(np.float32) / 32768)
