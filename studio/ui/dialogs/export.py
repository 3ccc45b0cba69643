"""File > Export…: write the open project as a Python training script, ONNX, TorchScript or
safetensors weights (engine.export), with the current model's weights or a training run's."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.export import FORMATS, SUFFIXES, export_project
from engine.train.run_folder import runs_with_weights

from ...background import error_text

FORMAT_LABELS = {"python": "Python script", "onnx": "ONNX", "torchscript": "TorchScript",
                 "weights": "Weights (safetensors)",
                 "bundle": "Hand-off bundle (zip: script, ONNX, weights, project, report)"}
CURRENT = "current model"


class ExportDialog(QDialog):
    """Format, output file and weights source; OK exports and closes, an error keeps it open."""

    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.window_ = window
        self.project = window.document.project
        self.setWindowTitle("Export")
        self.setMinimumWidth(520)
        self.format_combo = QComboBox()
        for fmt in FORMATS:
            self.format_combo.addItem(FORMAT_LABELS.get(fmt, fmt), fmt)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("output file")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        self.weights_combo = QComboBox()
        self.weights_combo.addItem("Current model", CURRENT)
        saved = self.project.path is not None
        for run in runs_with_weights(self.project.runs_dir()) if saved else []:
            self.weights_combo.addItem(f"Training run {run.name}", run.name)
        self.weights_combo.setEnabled(self.weights_combo.count() > 1)
        self.weights_combo.setToolTip("" if saved else "Save the project to export a run's weights")
        form = QFormLayout()
        form.addRow("&Format:", self.format_combo)
        label = QLabel("&Output:")
        label.setBuddy(self.path_edit)  # a layout row has no buddy of its own
        form.addRow(label, row)
        form.addRow("&Weights:", self.weights_combo)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.path_edit.setText(str(self._default_path()))

    def fmt(self) -> str:
        return self.format_combo.currentData()

    def run_choice(self) -> str | None:
        data = self.weights_combo.currentData()
        return None if data == CURRENT else data

    def _default_path(self) -> Path:
        p = self.project.path
        stem = p.stem if p else (self.project.meta.get("name") or "model")
        return (p.parent if p else Path.cwd()) / f"{stem}{SUFFIXES[self.fmt()]}"

    def _format_changed(self) -> None:
        text = self.path_edit.text().strip()
        if text:  # keep the chosen name and folder, follow the format's suffix
            self.path_edit.setText(str(Path(text).with_suffix(SUFFIXES[self.fmt()])))

    def browse(self) -> None:
        suffix = SUFFIXES[self.fmt()]
        filt = f"{FORMAT_LABELS[self.fmt()]} (*{suffix})"
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), filt)
        if path:
            self.path_edit.setText(str(Path(path).with_suffix(suffix)))

    def export(self) -> None:
        out = self.path_edit.text().strip()
        if not out:
            QMessageBox.warning(self, "Export failed", "Choose an output file.")
            return
        if Path(out).exists() and QMessageBox.question(
                self, "Replace the file?", f"{out} exists. Replace it?") != \
                QMessageBox.StandardButton.Yes:
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            export_project(self.project, self.fmt(), out, run=self.run_choice())
        except Exception as exc:  # noqa: BLE001 (CompileError, ExportError, OSError, torch)
            QApplication.restoreOverrideCursor()
            QMessageBox.warning(self, "Export failed", error_text(exc)
                                if not isinstance(exc, ValueError) else str(exc))
            return
        QApplication.restoreOverrideCursor()
        self.window_.log_event(f"Exported {FORMAT_LABELS[self.fmt()]} to {out}")
        self.accept()


def run(window) -> None:
    """File > Export…"""
    dialog = ExportDialog(window)
    dialog.exec()
    dialog.deleteLater()
