"""Reading WAV files and the log-mel front end.

``torchaudio.load`` in torchaudio 2.9+ delegates file I/O to the separate ``torchcodec`` package
(which needs FFmpeg libraries) and raises "TorchCodec is required" without it. This package reads
WAV files with ``soundfile`` (libsndfile) instead and uses torchaudio only for what needs no codec:
``torchaudio.functional.resample`` and ``torchaudio.transforms.MelSpectrogram``.

The front end is the usual ASR log-mel filterbank: 25 ms Hann windows every 10 ms at 16 kHz,
``n_mels`` triangular mel filters, then ``log(x + 1e-6)``.

Example:
    >>> import torch
    >>> front_end = LogMel(n_mels=40)
    >>> front_end(torch.randn(16000)).shape  # one second -> 101 frames of 40 mel bins
    torch.Size([101, 40])
"""

from __future__ import annotations

import os

import numpy as np
import soundfile
import torch
import torchaudio
from torch import Tensor, nn

#: Sample rate every waveform is resampled to before the front end.
SAMPLE_RATE = 16_000


class AudioFileError(ValueError):
    """A WAV file cannot be read; the message names the file."""


def read_wav(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE) -> Tensor:
    """Read a WAV file as a mono float32 waveform in [-1, 1] at ``sample_rate``.

    Channels are averaged; other rates are converted with ``torchaudio.functional.resample``
    (windowed-sinc interpolation).

    Args:
        path: the file.
        sample_rate: target rate in Hz.

    Returns:
        Shape (T,) float32.

    Raises:
        AudioFileError: the file is missing, unreadable or empty.
    """
    try:
        audio, native_rate = soundfile.read(os.fspath(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioFileError(f"{path}: cannot read audio ({error})") from None
    if audio.shape[0] == 0:
        raise AudioFileError(f"{path}: no audio samples")
    waveform = torch.from_numpy(np.ascontiguousarray(audio.mean(axis=1)))
    if native_rate != sample_rate:
        waveform = torchaudio.functional.resample(waveform, native_rate, sample_rate)
    return waveform


class LogMel(nn.Module):
    """Log-mel filterbank features of a 16 kHz waveform.

    Args:
        n_mels: number of mel bins.
        sample_rate: rate of the input waveform.
        win_ms: window length in milliseconds.
        hop_ms: hop in milliseconds.

    Shapes:
        input (T,) or (B, T) waveform; output (frames, n_mels) or (B, frames, n_mels).
    """

    def __init__(
        self,
        n_mels: int = 40,
        sample_rate: int = SAMPLE_RATE,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
    ) -> None:
        super().__init__()
        if n_mels < 1:
            raise ValueError(f"n_mels must be >= 1, got {n_mels}")
        win_length = round(sample_rate * win_ms / 1000)
        self.melspec = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=int(2 ** np.ceil(np.log2(win_length))),
            win_length=win_length,
            hop_length=round(sample_rate * hop_ms / 1000),
            n_mels=n_mels,
        )

    def forward(self, waveform: Tensor) -> Tensor:
        """Log-mel features, time first."""
        if waveform.dim() not in (1, 2):
            raise ValueError(
                f"waveform must have shape (T,) or (B, T), got {tuple(waveform.shape)}"
            )
        return torch.log(self.melspec(waveform) + 1e-6).transpose(-1, -2)
