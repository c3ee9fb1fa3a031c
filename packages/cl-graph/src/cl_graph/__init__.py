"""Heterogeneous-graph recipes: MEOW and AdaMEOW."""

__version__ = "0.1.0"
