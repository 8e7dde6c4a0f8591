"""impactsel: select the pytest tests that a git change can affect, symbol by symbol."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
