"""venvguard: an interrupted environment tool leaves no half-made virtual environment."""

__version__ = "0.1.0"
