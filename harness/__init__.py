"""bootstrap-harness: measure how well a natural-language spec regenerates its implementation."""

__version__ = "0.1.0"
