"""File > Import PyTorch model…: trace an nn.Module class from a .py file with torch.fx
(engine.importer) and open the graph as a new, unsaved document.

Loading the .py file runs it (that is what importing a model class means); the class is
instantiated without arguments. Nothing is unpickled."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
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

from engine.cli.importer import load_class, parse_shape
from engine.project import Project


def build_project(py_path: str, class_name: str, shapes_text: str, dtype: str) -> Project:
    """The imported project. `shapes_text` holds one batch-first shape per input, separated
    by ';' (e.g. '1,3,32,32'). Raises ValueError/TypeError/ImportModelError with the reason."""
    import torch

    from engine.importer import import_module

    if not class_name.strip():
        raise ValueError("give the name of the nn.Module class")
    shapes = [parse_shape(s) for s in shapes_text.split(";") if s.strip()]
    if not shapes:
        raise ValueError("give the input shape, batch first, e.g. 1,3,32,32")
    cls = load_class(f"{py_path}:{class_name.strip()}")
    try:
        module = cls()
    except Exception as exc:  # noqa: BLE001 (the user's constructor may raise anything)
        raise ValueError(f"{class_name}() failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{class_name} is not an nn.Module")
    module.eval()
    torch.manual_seed(0)
    examples = [torch.randn(s) if dtype == "float" else torch.zeros(s, dtype=torch.long)
                for s in shapes]
    graph = import_module(module, examples[0] if len(examples) == 1 else tuple(examples))
    return Project(graph, meta={"name": class_name.strip(), "description":
                                f"Imported from {Path(py_path).name} with torch.fx"})


class ImportDialog(QDialog):
    """OK imports into `window.document`; an error is shown and the dialog stays open."""

    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.window_ = window
        self.setWindowTitle("Import PyTorch model")
        self.setMinimumWidth(520)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("model.py")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        self.class_edit = QLineEdit()
        self.class_edit.setPlaceholderText("Net")
        self.shape_edit = QLineEdit("1,3,32,32")
        self.shape_edit.setToolTip("Batch first; several inputs separated by ';'")
        self.dtype_combo = QComboBox()
        self.dtype_combo.addItem("float", "float")
        self.dtype_combo.addItem("long (token ids)", "long")
        form = QFormLayout()
        label = QLabel("Python &file:")
        label.setBuddy(self.path_edit)  # a layout row has no buddy of its own
        form.addRow(label, row)
        form.addRow("&Class:", self.class_edit)
        form.addRow("Input &shape:", self.shape_edit)
        form.addRow("Input &dtype:", self.dtype_combo)
        note = QLabel("The file is run to define the class, which is created without "
                      "arguments and traced with torch.fx.")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.do_import)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import PyTorch model",
                                              self.path_edit.text(), "Python (*.py)")
        if path:
            self.path_edit.setText(path)

    def do_import(self) -> None:
        from engine.importer import ImportModelError

        try:
            project = build_project(self.path_edit.text().strip(), self.class_edit.text(),
                                    self.shape_edit.text(), self.dtype_combo.currentData())
        except (ValueError, TypeError, ImportModelError, SyntaxError) as exc:
            QMessageBox.warning(self, "Import failed", str(exc))
            return
        self.window_.document.adopt(project)
        g = project.graph
        self.window_.show_message(f"Imported {project.meta['name']}: {len(g.nodes)} nodes, "
                                  f"{len(g.edges)} edges (unsaved)")
        self.accept()


def run(window) -> None:
    """File > Import PyTorch model…"""
    if not window.confirm_discard():
        return
    dialog = ImportDialog(window)
    dialog.exec()
    dialog.deleteLater()
