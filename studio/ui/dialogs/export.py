"""File > Export…: write the open project as a Python training script, ONNX, TorchScript or
safetensors weights (engine.export), with the current model's weights or a training run's."""
from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
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
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.export import FORMATS, SUFFIXES, export_project
from engine.train.run_folder import runs_with_weights

from ...background import DaemonCall, error_text

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
        self.status = QLabel()
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.hide()
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self._call: DaemonCall | None = None
        self._fmt = self.fmt()
        self._ticker = QTimer(self)
        self._ticker.setInterval(100)
        self._ticker.timeout.connect(self._tick)
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
        """Export on a daemon thread (compiling, reading a lazily opened weights file,
        tracing and writing take seconds for a big model): the window stays responsive,
        the dialog shows the progress and takes no second export until this one ends."""
        if self._call is not None:
            return
        out = self.path_edit.text().strip()
        if not out:
            QMessageBox.warning(self, "Export failed", "Choose an output file.")
            return
        if Path(out).exists() and QMessageBox.question(
                self, "Replace the file?", f"{out} exists. Replace it?") != \
                QMessageBox.StandardButton.Yes:
            return
        self._out, self._fmt = out, self.fmt()
        self._call = DaemonCall(_export, self._snapshot(), self._fmt, out, self.run_choice())
        self._call.succeeded.connect(self._exported)
        self._call.failed.connect(self._failed)
        self._busy(True)
        self._call.start()

    def _snapshot(self):
        """The project as it is now, for the export thread (a lazy weights file stays
        unread in it until the thread reads it; the document's copy shares that read)."""
        project = copy.copy(self.project)
        project.graph = self.project.graph.copy()
        return project

    def _busy(self, busy: bool) -> None:
        for widget in (self.format_combo, self.path_edit, self.browse_button,
                       self.weights_combo, self.buttons):
            widget.setEnabled(not busy if widget is not self.weights_combo
                              else not busy and self.weights_combo.count() > 1)
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)
        self.status.setText(f"Exporting {FORMAT_LABELS[self._fmt]}…" if busy else "")
        self._ticker.start() if busy else self._ticker.stop()
        if busy:
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        else:
            QApplication.restoreOverrideCursor()

    def _tick(self) -> None:
        weights = self.project.graph.weights
        source = getattr(weights, "source", None)
        if source is None or not source.total or source.done >= source.total:
            self.progress.setRange(0, 0)
            self.status.setText(f"Exporting {FORMAT_LABELS[self._fmt]}…")
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * source.done / source.total))
        self.status.setText(f"Reading the weights ({source.total / 2**20:,.0f} MB)… "
                            f"{100 * source.done // source.total}%")

    def _exported(self, outcome) -> None:
        self._call = None
        self._busy(False)
        ok, message = outcome
        if not ok:
            QMessageBox.warning(self, "Export failed", message)
            return
        self.window_.log_event(f"Exported {FORMAT_LABELS[self._fmt]} to {self._out}")
        self.accept()

    def _failed(self, message: str, _tb: str) -> None:
        self._call = None
        self._busy(False)
        QMessageBox.warning(self, "Export failed", message)

    def reject(self) -> None:
        if self._call is None:   # an export under way finishes first (its file is atomic)
            super().reject()

    def wait(self, timeout_ms: int = 120_000) -> None:
        """Wait for the export under way and show its outcome (tests, scripted use)."""
        if self._call is not None:
            self._call.settle(timeout_ms)


def _export(project, fmt: str, out: str, run: str | None) -> tuple[bool, str]:
    """The export thread: (True, "") or (False, the message for the user)."""
    try:
        export_project(project, fmt, out, run=run)
    except ValueError as exc:   # ExportError, CompileError: their own sentence
        return False, str(exc)
    except Exception as exc:  # noqa: BLE001 (ProjectError, OSError, torch)
        return False, error_text(exc)
    return True, ""


def run(window) -> None:
    """File > Export…"""
    dialog = ExportDialog(window)
    dialog.exec()
    dialog.deleteLater()
