"""File > Import Model…: open a model as a new, unsaved document: an nn.Module class from a
.py file (traced with torch.fx), an .onnx file or a Keras .keras/.h5 file (engine.importers).

Loading the .py file runs it (that is what importing a model class means); the class is
instantiated without arguments. ONNX and Keras files are only read. Nothing is unpickled."""
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

from engine.importers import MODEL_SUFFIXES
from engine.project import Project

_FILTER = "Models (*.py *.onnx *.keras *.h5 *.hdf5);;Python (*.py);;ONNX (*.onnx);;" \
    "Keras (*.keras *.h5 *.hdf5)"


def is_model_file(path: str) -> bool:
    """An .onnx/.keras/.h5 file (read, needs no class or input shape), not a .py file."""
    return Path(path.strip()).suffix.lower() in MODEL_SUFFIXES


def build_file_project(path: str) -> Project:
    """The project of an ONNX or Keras file. Raises ImportModelError with the reason."""
    from engine.importers import import_file

    graph, description = import_file(path.strip())
    return Project(graph, meta={"name": Path(path.strip()).stem, "description": description})


def build_project(py_path: str, class_name: str, shapes_text: str, dtype: str) -> Project:
    """The imported project. `shapes_text` holds one batch-first shape per input, separated
    by ';' (e.g. '1,3,32,32'). Raises ValueError/TypeError/ImportModelError with the reason."""
    from engine.importers.python_file import import_python_class, parse_shape

    shapes = [parse_shape(s) for s in shapes_text.split(";") if s.strip()]
    return import_python_class(py_path, class_name, shapes, [dtype] * len(shapes))


class ImportDialog(QDialog):
    """OK imports into `window.document`; an error is shown and the dialog stays open."""

    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.window_ = window
        self.setWindowTitle("Import model")
        self.setMinimumWidth(520)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("model.py, model.onnx, model.keras or model.h5")
        self.path_edit.textChanged.connect(self._path_changed)
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
        label = QLabel("Model &file:")
        label.setBuddy(self.path_edit)  # a layout row has no buddy of its own
        form.addRow(label, row)
        form.addRow("&Class:", self.class_edit)
        form.addRow("Input &shape:", self.shape_edit)
        form.addRow("Input &dtype:", self.dtype_combo)
        self.form = form
        self.note = note = QLabel()
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
        self._path_changed("")

    def _path_changed(self, text: str) -> None:
        """A .py file needs a class and an input shape; ONNX and Keras files do not."""
        model_file = is_model_file(text)
        for field in (self.class_edit, self.shape_edit, self.dtype_combo):
            self.form.setRowVisible(field, not model_file)
        self.note.setText(
            "The file is only read: nothing in it is executed (a Keras Lambda layer is "
            "refused). Inputs, layers and weights come from the file." if model_file else
            "The .py file is run to define the class, which is created without arguments "
            "and traced with torch.fx. ONNX (.onnx) and Keras (.keras, .h5) files need no "
            "class or shape.")

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import model", self.path_edit.text(),
                                              _FILTER)
        if path:
            self.path_edit.setText(path)

    def do_import(self) -> None:
        from engine.importers import ImportModelError

        path = self.path_edit.text().strip()
        try:
            if is_model_file(path):
                project = build_file_project(path)
            else:
                project = build_project(path, self.class_edit.text(), self.shape_edit.text(),
                                        self.dtype_combo.currentData())
        except (ValueError, TypeError, ImportModelError, SyntaxError) as exc:
            QMessageBox.warning(self, "Import failed", str(exc))
            return
        self.window_.document.adopt(project)
        g = project.graph
        self.window_.log_event(f"Imported {project.meta['name']}: {len(g.nodes)} nodes, "
                                  f"{len(g.edges)} edges (unsaved)")
        self.accept()


def run(window) -> None:
    """File > Import Model…"""
    if not window.confirm_discard():
        return
    dialog = ImportDialog(window)
    dialog.exec()
    dialog.deleteLater()
