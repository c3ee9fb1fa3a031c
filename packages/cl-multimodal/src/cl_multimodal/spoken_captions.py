"""Spoken captions: captions spoken by synthetic voices, with a cached log-mel front end.

The audio is synthesized by this project (espeak-ng formant synthesis through
:func:`cl_core.datasets.synthesize_waveform`), not recorded speech. Each unique (text, voice) is
synthesized once and its log-mel features are cached as ``.npy`` files named by a hash of the text,
the voice's ``speaker_id`` and the number of mel bands, so a second call reads the cache.

Log-mel features: ``log(mel(|STFT(x)|^2) + 1e-6)`` with ``torchaudio.transforms.MelSpectrogram``
(Davis & Mermelstein, "Comparison of parametric representations for monosyllabic word recognition",
IEEE TASSP 1980) at 22.05 kHz (espeak-ng's rate; other rates, such as flite's, are resampled).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cl_core.datasets.speech_synthesis import Voice, synthesize_waveform

#: Sample rate of the log-mel front end (espeak-ng's output rate).
SAMPLE_RATE = 22_050
N_MELS = 40
_DEFAULT_CACHE = Path.home() / ".cache" / "contrastive" / "multimodal" / "spoken_captions"

#: A few distinct speakers: two dialects, male and female variants, different rates and pitches.
DEFAULT_VOICES = (
    Voice("espeak-ng", "en-us+m3", 160, 45),
    Voice("espeak-ng", "en-gb+f3", 140, 65),
    Voice("espeak-ng", "en-us+m1", 185, 30),
)


def log_mel(
    waveform: np.ndarray, n_mels: int = N_MELS, *, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Log-mel spectrogram (n_mels, frames) at 22.05 kHz (25 ms window, 10 ms hop).

    Args:
        waveform: float32 mono samples, shape (samples,).
        n_mels: mel bands.
        sample_rate: rate of ``waveform`` in Hz; other rates than :data:`SAMPLE_RATE` are
            resampled to it first (``torchaudio.functional.resample``).
    """
    import torch
    import torchaudio

    if waveform.ndim != 1 or waveform.size == 0:
        raise ValueError(f"waveform must be a non-empty 1-D array, got shape {waveform.shape}")
    if sample_rate < 1:
        raise ValueError(f"sample_rate must be >= 1 Hz, got {sample_rate}")
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=551, win_length=551, hop_length=220, n_mels=n_mels
    )
    with torch.no_grad():
        samples = torch.from_numpy(waveform)
        if sample_rate != SAMPLE_RATE:
            samples = torchaudio.functional.resample(samples, sample_rate, SAMPLE_RATE)
        return torch.log(mel(samples) + 1e-6).numpy()


def _cache_key(text: str, voice: Voice, n_mels: int) -> str:
    identity = f"{text}|{voice.speaker_id}|{n_mels}"
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def spoken_log_mels(
    items: Sequence[tuple[str, Voice]],
    cache_dir: str | Path | None = None,
    *,
    n_mels: int = N_MELS,
    progress: bool = True,
) -> dict[tuple[str, Voice], np.ndarray]:
    """Log-mel features of each unique (text, voice), synthesizing only what is not cached.

    Args:
        items: (text, :class:`~cl_core.datasets.Voice`) pairs; duplicates are synthesized once.
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
    for text, voice in unique:
        if not isinstance(text, str) or not isinstance(voice, Voice):
            raise TypeError(
                "items must be (str, Voice) pairs, got "
                f"({type(text).__name__}, {type(voice).__name__})"
            )
    features: dict[tuple[str, Voice], np.ndarray] = {}
    missing = []
    for item in unique:
        path = folder / f"{_cache_key(*item, n_mels)}.npy"
        if path.exists():
            features[item] = np.load(path)
        else:
            missing.append((item, path))
    for (text, voice), path in tqdm(
        missing, desc="speech synthesis", unit="caption", disable=not progress or not missing
    ):
        waveform, sample_rate = synthesize_waveform(text, voice)
        mel = log_mel(waveform, n_mels, sample_rate=sample_rate).astype(np.float32)
        partial = path.with_suffix(".tmp.npy")
        np.save(partial, mel)
        partial.replace(path)
        features[(text, voice)] = mel
    return features
