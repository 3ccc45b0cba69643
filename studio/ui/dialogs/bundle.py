"""File > Export Hand-off Bundle…: the Export dialog with the bundle format chosen."""
from __future__ import annotations

from .export import ExportDialog


def run(window) -> None:
    dialog = ExportDialog(window)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("bundle"))
    dialog.setWindowTitle("Export hand-off bundle")
    dialog.exec()
    dialog.deleteLater()
