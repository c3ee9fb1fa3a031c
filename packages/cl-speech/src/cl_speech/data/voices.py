"""Synthetic speakers: espeak-ng and flite voices with varied rate and pitch.

Each :class:`Voice` is one synthetic speaker: a synthesizer, a voice (espeak-ng English dialect plus
a voice variant such as ``+f3`` or ``+klatt2``, or a flite voice), a speaking rate and a pitch.
The available voices are read from the installed binaries (``espeak-ng --voices``, ``flite -lv``),
so the corpus uses whatever the Debian packages ship.

Example:
    >>> voices = sample_voices(4, seed=0)  # doctest: +SKIP
    >>> voices[0].speaker_id  # doctest: +SKIP
    'espeak-ng:en-gb-x-rp+m3:r171:p44'
"""

from __future__ import annotations

import random
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

Synthesizer = Literal["espeak-ng", "flite"]

#: English espeak-ng dialects (the ``mb-*`` MBROLA voices need the separate mbrola binary).
ESPEAK_DIALECTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-rp",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
#: Share of speakers drawn from flite (it has only a handful of voices).
FLITE_SHARE = 0.25


class SynthesizerUnavailableError(RuntimeError):
    """A synthesizer binary is missing; install the Debian package it names."""


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Attributes:
        synthesizer: ``"espeak-ng"`` or ``"flite"``.
        voice: espeak-ng ``dialect+variant`` (e.g. ``"en-us+f3"``) or a flite voice name.
        rate: espeak-ng words per minute, or flite duration stretch (1.0 = normal, larger = slower).
        pitch: espeak-ng pitch 0-99, or flite mean F0 in Hz.
    """

    synthesizer: Synthesizer
    voice: str
    rate: float
    pitch: float

    @property
    def speaker_id(self) -> str:
        """A stable, file-name-safe identifier of this speaker."""
        return f"{self.synthesizer}:{self.voice}:r{self.rate:g}:p{self.pitch:g}"

    def command(self, text: str, wav_path: str) -> list[str]:
        """The command line that speaks ``text`` into ``wav_path``."""
        if self.synthesizer == "espeak-ng":
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
    """Path of the synthesizer ``name``.

    Raises:
        SynthesizerUnavailableError: it is not on PATH (install the Debian package of that name).
    """
    path = shutil.which(name)
    if path is None:
        raise SynthesizerUnavailableError(
            f"{name} is not installed (apt-get install {name}); it synthesizes the corpus"
        )
    return path


def espeak_variants() -> tuple[str, ...]:
    """Voice variants of the installed espeak-ng (``m1``, ``f3``, ``klatt2``, ...), sorted."""
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
    """General-domain voices of the installed flite (``awb_time`` only speaks times; left out)."""
    listing = subprocess.run(
        [require_binary("flite"), "-lv"], capture_output=True, text=True, check=True
    ).stdout
    names = listing.split(":", 1)[-1].split()
    return tuple(sorted(name for name in names if not name.endswith("_time")))


def sample_voices(count: int, seed: int = 0) -> list[Voice]:
    """``count`` distinct synthetic speakers, the same for the same ``seed`` and installed voices.

    About :data:`FLITE_SHARE` of them are flite voices (duration stretch 0.85-1.25, mean F0
    80-200 Hz); the rest are espeak-ng dialect + variant pairs (rate 130-200 wpm, pitch 25-75).

    Raises:
        ValueError: ``count`` < 1.
        SynthesizerUnavailableError: espeak-ng or flite is missing.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    rng = random.Random(seed)
    variants = espeak_variants()
    flite_names = flite_voice_names()
    voices: dict[str, Voice] = {}
    while len(voices) < count:
        if rng.random() < FLITE_SHARE:
            voice = Voice(
                "flite",
                rng.choice(flite_names),
                round(rng.uniform(0.85, 1.25), 2),
                float(rng.randint(80, 200)),
            )
        else:
            dialect = rng.choice(ESPEAK_DIALECTS)
            voice = Voice(
                "espeak-ng",
                f"{dialect}+{rng.choice(variants)}",
                float(rng.randint(130, 200)),
                float(rng.randint(25, 75)),
            )
        voices.setdefault(voice.speaker_id, voice)
    return list(voices.values())
