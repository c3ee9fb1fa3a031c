"""Lightning callbacks: embedding diagnostics while training, spectrum/projection plots at end."""

from cl_core.training.callbacks.diagnostics import EmbeddingDiagnostics
from cl_core.training.callbacks.spectrum_plot import SpectrumAndProjectionPlot

__all__ = ["EmbeddingDiagnostics", "SpectrumAndProjectionPlot"]
