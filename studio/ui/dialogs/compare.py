"""File > Compare with… (the view lives in studio.ui.compare)."""
from __future__ import annotations

from ..compare.panel import run

__all__ = ["run"]
