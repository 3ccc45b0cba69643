"""Kept for code written against the old module path: use engine.importers."""
from __future__ import annotations

from .importers import ImportModelError, import_module, layout

__all__ = ["ImportModelError", "import_module", "layout"]
