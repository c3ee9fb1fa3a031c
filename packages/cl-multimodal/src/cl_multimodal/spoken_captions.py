"""Spoken captions: text to speech with Debian ``espeak-ng`` and a cached log-mel front end.

The audio is synthesized by this project (espeak-ng formant synthesis), not recorded speech. Each
unique (text, voice) is synthesized once and its log-mel features are cached as ``.npy`` files
named by a hash of the text and the voice settings, so a second call reads the cache.

Log-mel features: ``log(mel(|STFT(x)|^2) + 1e-6)`` with ``torchaudio.transforms.MelSpectrogram``
(Davis & Mermelstein, "Comparison of parametric representations for monosyllabic word recognition",
IEEE TASSP 1980). WAV files are read with the standard library ``wave`` module because
``torchaudio.load`` needs torchcodec here.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cl_core.cli import UserFacingError

#: Sample rate of espeak-ng's output.
SAMPLE_RATE = 22_050
N_MELS = 40
_DEFAULT_CACHE = Path.home() / ".cache" / "contrastive" / "multimodal" / "spoken_captions"


class EspeakUnavailableError(UserFacingError):
    """``espeak-ng`` is not on PATH."""


@dataclass(frozen=True)
class EspeakVoice:
    """One synthetic speaker: an espeak-ng ``voice`` (``dialect+variant``), ``rate`` in words
    per minute (80-450) and ``pitch`` (0-99)."""

    voice: str = "en-us"
    rate: int = 160
    pitch: int = 50

    def __post_init__(self) -> None:
        if not self.voice or any(c.isspace() for c in self.voice):
            raise ValueError(f"voice must be a non-empty espeak-ng voice name, got {self.voice!r}")
        if not 80 <= self.rate <= 450:
            raise ValueError(f"rate must lie in [80, 450] words per minute, got {self.rate}")
        if not 0 <= self.pitch <= 99:
            raise ValueError(f"pitch must lie in [0, 99], got {self.pitch}")


#: A few distinct speakers: two dialects, male and female variants, different rates and pitches.
DEFAULT_VOICES = (
    EspeakVoice("en-us+m3", 160, 45),
    EspeakVoice("en-gb+f3", 140, 65),
    EspeakVoice("en-us+m1", 185, 30),
)


def require_espeak() -> str:
    """Path of ``espeak-ng``; raises :class:`EspeakUnavailableError` with the install hint."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise EspeakUnavailableError(
            "espeak-ng is not installed (apt-get install espeak-ng); it speaks the captions"
        )
    return path


def synthesize_speech(text: str, voice: EspeakVoice = EspeakVoice()) -> np.ndarray:
    """Speak ``text`` with espeak-ng; return a float32 mono waveform in [-1, 1] at 22.05 kHz.

    espeak-ng is deterministic: the same text and voice give the same samples.

    Example:
        >>> synthesize_speech("a red circle").ndim  # doctest: +SKIP
        1
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    if not isinstance(voice, EspeakVoice):
        raise TypeError(f"voice must be an EspeakVoice, got {type(voice).__name__}")
    binary = require_espeak()
    with tempfile.TemporaryDirectory() as folder:
        wav_path = Path(folder) / "speech.wav"
        command = [binary, "-v", voice.voice, "-s", str(voice.rate), "-p", str(voice.pitch)]
        result = subprocess.run(
            [*command, "-w", str(wav_path), text], capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not wav_path.exists():
            raise UserFacingError(
                f"espeak-ng failed for voice {voice.voice!r}: {result.stderr.strip()}"
            )
        with wave.open(str(wav_path), "rb") as reader:
            if reader.getsampwidth() != 2 or reader.getnchannels() != 1:
                raise UserFacingError(f"espeak-ng wrote an unexpected WAV format to {wav_path}")
            frames = reader.readframes(reader.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


def log_mel(waveform: np.ndarray, n_mels: int = N_MELS) -> np.ndarray:
    """Log-mel spectrogram (n_mels, frames) of a 22.05 kHz waveform (25 ms window, 10 ms hop)."""
    import torch
    import torchaudio

    if waveform.ndim != 1 or waveform.size == 0:
        raise ValueError(f"waveform must be a non-empty 1-D array, got shape {waveform.shape}")
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=551, win_length=551, hop_length=220, n_mels=n_mels
    )
    with torch.no_grad():
        return torch.log(mel(torch.from_numpy(waveform)) + 1e-6).numpy()


def _cache_key(text: str, voice: EspeakVoice, n_mels: int) -> str:
    identity = f"{text}|{voice.voice}|{voice.rate}|{voice.pitch}|{n_mels}"
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def spoken_log_mels(
    items: Sequence[tuple[str, EspeakVoice]],
    cache_dir: str | Path | None = None,
    *,
    n_mels: int = N_MELS,
    progress: bool = True,
) -> dict[tuple[str, EspeakVoice], np.ndarray]:
    """Log-mel features of each unique (text, voice), synthesizing only what is not cached.

    Args:
        items: (text, voice) pairs; duplicates are synthesized once.
        cache_dir: folder of cached ``.npy`` features (default
            ``~/.cache/contrastive/multimodal/spoken_captions``); created if missing.
        n_mels: mel bands.
        progress: show a tqdm bar over the syntheses still to do.

    Returns:
        A map from each unique (text, voice) to its float32 (n_mels, frames) log-mel array.
    """
    from tqdm.auto import tqdm

    if n_mels < 1:
        raise ValueError(f"n_mels must be >= 1, got {n_mels}")
    folder = Path(cache_dir) if cache_dir is not None else _DEFAULT_CACHE
    folder.mkdir(parents=True, exist_ok=True)
    unique = list(dict.fromkeys(items))
    features: dict[tuple[str, EspeakVoice], np.ndarray] = {}
    missing = []
    for item in unique:
        path = folder / f"{_cache_key(*item, n_mels)}.npy"
        if path.exists():
            features[item] = np.load(path)
        else:
            missing.append((item, path))
    for (text, voice), path in tqdm(
        missing, desc="espeak-ng", unit="caption", disable=not progress or not missing
    ):
        mel = log_mel(synthesize_speech(text, voice), n_mels).astype(np.float32)
        partial = path.with_suffix(".tmp.npy")
        np.save(partial, mel)
        partial.replace(path)
        features[(text, voice)] = mel
    return features
