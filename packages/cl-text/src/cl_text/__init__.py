"""Sentence-embedding recipes: SimCSE, DebCSE, ViCLSR, WhitenedCSE, input-label contrast."""

__version__ = "0.1.0"
