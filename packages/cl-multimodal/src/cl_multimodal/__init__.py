"""Multimodal recipes: CLIP, Symile, M3CoL, CMCL, NegCLIP/ARO, CLOSE, Slipform, CLHE."""

__version__ = "0.1.0"
