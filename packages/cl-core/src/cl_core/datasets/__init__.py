"""Dataset loaders and data makers shared by several modality packages (numpy only, no torch at
import): Fashion-MNIST from its IDX files, and text to speech with espeak-ng / flite."""

from cl_core.datasets.fashion_mnist import (
    DEFAULT_FASHION_MNIST_DIR,
    FASHION_MNIST_CARD,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR_ENV,
    fashion_mnist_dir,
    load_fashion_mnist,
)
from cl_core.datasets.speech_synthesis import (
    RATE_PITCH_RANGES,
    SYNTHESIZERS,
    SynthesisError,
    Synthesizer,
    SynthesizerUnavailableError,
    Voice,
    espeak_variants,
    flite_voice_names,
    require_binary,
    synthesize_waveform,
)

__all__ = [
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_CARD",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR_ENV",
    "RATE_PITCH_RANGES",
    "SYNTHESIZERS",
    "SynthesisError",
    "Synthesizer",
    "SynthesizerUnavailableError",
    "Voice",
    "espeak_variants",
    "fashion_mnist_dir",
    "flite_voice_names",
    "load_fashion_mnist",
    "require_binary",
    "synthesize_waveform",
]
