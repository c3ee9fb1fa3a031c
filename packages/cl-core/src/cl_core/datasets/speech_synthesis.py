"""Text to speech with the Debian synthesizers ``espeak-ng`` and ``flite`` (numpy + stdlib only).

Several modality packages make synthetic spoken data (spoken captions, spoken commands); this
module is the one place that runs the synthesizers. A :class:`Voice` is one synthetic speaker
(synthesizer, voice name, rate, pitch); :func:`synthesize_waveform` speaks a text with it and
returns the float32 mono waveform and its sample rate. Both synthesizers are deterministic: the
same text and voice give the same samples.

- espeak-ng (formant synthesis; https://github.com/espeak-ng/espeak-ng): voice ``dialect+variant``
  such as ``"en-us+f3"``, rate in words per minute, pitch 0-99; 22,050 Hz output.
- flite (Black & Lenzo, "Flite: a small fast run-time synthesis engine", ISCA SSW4, 2001): a voice
  name such as ``"slt"``, rate as a duration stretch (1.0 = normal, larger = slower), pitch as the
  mean F0 in Hz; 8,000 or 16,000 Hz output depending on the voice.

The audio is synthesized, never recorded speech: data built from it must say so.

Example:
    >>> from cl_core.datasets import Voice, synthesize_waveform
    >>> waveform, sample_rate = synthesize_waveform(  # doctest: +SKIP
    ...     "a red circle", Voice("espeak-ng", "en-us+m3", 160, 45)
    ... )
    >>> waveform.dtype, waveform.ndim, sample_rate  # doctest: +SKIP
    (dtype('float32'), 1, 22050)
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from cl_core.cli import UserFacingError

Synthesizer = Literal["espeak-ng", "flite"]
SYNTHESIZERS: tuple[str, ...] = get_args(Synthesizer)
#: Accepted (rate, pitch) ranges, inclusive, per synthesizer: espeak-ng words per minute and pitch
#: 0-99; flite duration stretch and mean F0 in Hz.
RATE_PITCH_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "espeak-ng": ((80.0, 450.0), (0.0, 99.0)),
    "flite": ((0.25, 4.0), (40.0, 400.0)),
}


class SynthesizerUnavailableError(UserFacingError, RuntimeError):
    """A synthesizer binary is not on PATH; the message names the Debian package to install."""


class SynthesisError(UserFacingError, RuntimeError):
    """A synthesizer ran but gave no usable audio (it failed, wrote silence or an odd WAV)."""


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Attributes:
        synthesizer: ``"espeak-ng"`` or ``"flite"``.
        voice: espeak-ng ``dialect+variant`` (e.g. ``"en-us+f3"``) or a flite voice name (e.g.
            ``"slt"``); non-empty, no whitespace.
        rate: espeak-ng words per minute (a whole number in [80, 450]), or flite duration stretch
            in [0.25, 4.0] (1.0 = normal, larger = slower).
        pitch: espeak-ng pitch (a whole number in [0, 99]), or flite mean F0 in [40, 400] Hz.

    ``rate`` and ``pitch`` are stored as floats, so ``Voice("espeak-ng", "en-us", 160, 50)`` equals
    ``Voice("espeak-ng", "en-us", 160.0, 50.0)``.

    Raises:
        ValueError: an unknown synthesizer, an empty voice name or one with whitespace, or a rate or
            pitch outside the synthesizer's range (or not whole for espeak-ng).
        TypeError: ``voice`` is not a string, or ``rate`` / ``pitch`` is not a real number.

    Example:
        >>> Voice("flite", "slt", 1.1, 120).speaker_id
        'flite:slt:r1.1:p120'
    """

    synthesizer: Synthesizer
    voice: str
    rate: float
    pitch: float

    def __post_init__(self) -> None:
        if self.synthesizer not in SYNTHESIZERS:
            raise ValueError(f"synthesizer must be one of {SYNTHESIZERS}, got {self.synthesizer!r}")
        if not isinstance(self.voice, str):
            raise TypeError(f"voice must be a string, got {type(self.voice).__name__}")
        if not self.voice or any(character.isspace() for character in self.voice):
            raise ValueError(
                f"voice must be a non-empty {self.synthesizer} voice name without whitespace, "
                f"got {self.voice!r}"
            )
        (rate_low, rate_high), (pitch_low, pitch_high) = RATE_PITCH_RANGES[self.synthesizer]
        for name, value, low, high in (
            ("rate", self.rate, rate_low, rate_high),
            ("pitch", self.pitch, pitch_low, pitch_high),
        ):
            if isinstance(value, bool) or not isinstance(value, Real):
                raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
            if not (math.isfinite(value) and low <= value <= high):
                raise ValueError(
                    f"{name} must lie in [{low:g}, {high:g}] for {self.synthesizer}, got {value}"
                )
            if self.synthesizer == "espeak-ng" and value != int(value):
                raise ValueError(f"{name} must be a whole number for espeak-ng, got {value}")
            object.__setattr__(self, name, float(value))

    @property
    def speaker_id(self) -> str:
        """A stable, file-name-safe identifier: ``"synthesizer:voice:r<rate>:p<pitch>"``."""
        return f"{self.synthesizer}:{self.voice}:r{self.rate:g}:p{self.pitch:g}"

    def command(self, text: str, wav_path: str) -> list[str]:
        """The command line that speaks ``text`` into the WAV file ``wav_path``.

        espeak-ng takes the text as its last argument, so text starting with ``-`` gets a
        leading space (which espeak-ng ignores) instead of being read as an option.
        """
        if self.synthesizer == "espeak-ng":
            if text.startswith("-"):
                text = f" {text}"
            return [
                "espeak-ng",
                "-v",
                self.voice,
                "-s",
                f"{self.rate:g}",
                "-p",
                f"{self.pitch:g}",
                "-w",
                wav_path,
                text,
            ]
        return [
            "flite",
            "-voice",
            self.voice,
            "--setf",
            f"duration_stretch={self.rate:g}",
            "--setf",
            f"int_f0_target_mean={self.pitch:g}",
            "-t",
            text,
            "-o",
            wav_path,
        ]


def require_binary(name: str) -> str:
    """Path of the synthesizer binary ``name`` (``"espeak-ng"`` or ``"flite"``).

    Raises:
        SynthesizerUnavailableError: it is not on PATH (install the Debian package of that name).
    """
    path = shutil.which(name)
    if path is None:
        raise SynthesizerUnavailableError(
            f"{name} is not installed (apt-get install {name}); it synthesizes the speech"
        )
    return path


def espeak_variants() -> tuple[str, ...]:
    """Voice variants of the installed espeak-ng (``m1``, ``f3``, ``klatt2``, ...), sorted.

    Raises:
        SynthesizerUnavailableError: espeak-ng is not installed.
    """
    listing = subprocess.run(
        [require_binary("espeak-ng"), "--voices=variant"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    variants = [
        line.split()[4].removeprefix("!v/")
        for line in listing.splitlines()[1:]
        if len(line.split()) >= 5 and line.split()[4].startswith("!v/")
    ]
    return tuple(sorted(set(variants)))


def flite_voice_names() -> tuple[str, ...]:
    """General-domain voices of the installed flite, sorted (``awb_time`` only speaks times; left
    out).

    Raises:
        SynthesizerUnavailableError: flite is not installed.
    """
    listing = subprocess.run(
        [require_binary("flite"), "-lv"], capture_output=True, text=True, check=True
    ).stdout
    names = listing.split(":", 1)[-1].split()
    return tuple(sorted(name for name in names if not name.endswith("_time")))


def synthesize_waveform(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """Speak ``text`` with ``voice``; return the waveform and its sample rate.

    The synthesizer writes a 16-bit mono WAV file (read with the standard library ``wave``); the
    samples are scaled to floats by ``x / 32768``.

    Args:
        text: what to say; non-empty.
        voice: the speaker.

    Returns:
        ``(waveform, sample_rate)``: a float32 array of shape (samples,) in [-1, 1) and the rate in
        Hz (22,050 for espeak-ng; 8,000 or 16,000 for flite).

    Raises:
        ValueError: ``text`` is empty or only whitespace.
        TypeError: ``text`` is not a string or ``voice`` not a :class:`Voice`.
        SynthesizerUnavailableError: the synthesizer is not installed.
        SynthesisError: the synthesizer failed, wrote silence or a WAV that is not 16-bit mono.

    Example:
        >>> waveform, rate = synthesize_waveform(  # doctest: +SKIP
        ...     "hello", Voice("flite", "slt", 1.0, 100)
        ... )
        >>> waveform.dtype.name, rate  # doctest: +SKIP
        ('float32', 16000)
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    if not isinstance(voice, Voice):
        raise TypeError(f"voice must be a Voice, got {type(voice).__name__}")
    require_binary(voice.synthesizer)
    with tempfile.TemporaryDirectory() as folder:
        wav_path = Path(folder) / "speech.wav"
        result = subprocess.run(
            voice.command(text, str(wav_path)), capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not wav_path.exists():
            raise SynthesisError(
                f"{voice.synthesizer} failed for voice {voice.speaker_id}: "
                f"{result.stderr.strip()[:200]}"
            )
        try:
            with wave.open(str(wav_path), "rb") as reader:
                sample_width, channels = reader.getsampwidth(), reader.getnchannels()
                sample_rate = reader.getframerate()
                frames = reader.readframes(reader.getnframes())
        except (wave.Error, EOFError) as error:
            raise SynthesisError(
                f"{voice.synthesizer} wrote an unreadable WAV for voice {voice.speaker_id}: {error}"
            ) from None
    if sample_width != 2 or channels != 1:
        raise SynthesisError(
            f"{voice.synthesizer} wrote a {8 * sample_width}-bit {channels}-channel WAV for voice "
            f"{voice.speaker_id}; expected 16-bit mono"
        )
    waveform = np.frombuffer(frames, dtype="<i2").astype(np.float32) / np.float32(32768.0)
    if waveform.size == 0 or not np.any(waveform):
        raise SynthesisError(f"{voice.synthesizer} produced silence for voice {voice.speaker_id}")
    return waveform, sample_rate
