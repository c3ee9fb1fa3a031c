"""Dataset loaders and data makers shared by several modality packages (numpy only, no torch at
import): Fashion-MNIST from its IDX files, text to speech with espeak-ng / flite, and the source
chain every loader uses (:mod:`cl_core.datasets.sources`).

Names are imported on first use, so ``import cl_core.datasets.sources`` (which ``cl-bench`` does
before any row runs) loads the standard library only.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "cl_core.datasets.fashion_mnist": (
        "FASHION_MNIST_CARD",
        "FASHION_MNIST_CLASSES",
        "FASHION_MNIST_DIR_ENV",
        "fashion_mnist_dir",
        "load_fashion_mnist",
    ),
    "cl_core.datasets.speech_synthesis": (
        "RATE_PITCH_RANGES",
        "SYNTHESIZERS",
        "SynthesisError",
        "Synthesizer",
        "SynthesizerUnavailableError",
        "Voice",
        "espeak_variants",
        "flite_voice_names",
        "require_binary",
        "synthesize_waveform",
    ),
    "cl_core.datasets.sources": (
        "DataUnavailableError",
        "RequirementStatus",
        "all_requirements",
        "ensure_available",
        "requirement_status",
        "resolve_dataset",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
