"""Synthetic speakers for the spoken-command corpus: espeak-ng and flite voices with varied rate and
pitch.

A speaker is a :class:`cl_core.datasets.Voice` (synthesizer, voice, rate, pitch); the synthesizer
wrapper lives in :mod:`cl_core.datasets.speech_synthesis` and its names are re-exported here. This
module only chooses the corpus's speakers: espeak-ng English dialects with voice variants (such as
``+f3`` or ``+klatt2``) and flite voices, read from the installed binaries (``espeak-ng --voices``,
``flite -lv``), so the corpus uses whatever the Debian packages ship.

Example:
    >>> voices = sample_voices(4, seed=0)  # doctest: +SKIP
    >>> voices[0].speaker_id  # doctest: +SKIP
    'espeak-ng:en-gb-x-rp+m3:r171:p44'
"""

from __future__ import annotations

import random

from cl_core.datasets.speech_synthesis import (
    Synthesizer,
    SynthesizerUnavailableError,
    Voice,
    espeak_variants,
    flite_voice_names,
    require_binary,
)

__all__ = [
    "ESPEAK_DIALECTS",
    "FLITE_SHARE",
    "Synthesizer",
    "SynthesizerUnavailableError",
    "Voice",
    "espeak_variants",
    "flite_voice_names",
    "require_binary",
    "sample_voices",
]

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
