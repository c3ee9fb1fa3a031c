"""Command line: cross-domain benchmark runs -> table, JSON and plots (`cl-bench ...`)."""

__version__ = "0.1.0"
