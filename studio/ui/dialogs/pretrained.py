"""File > New from Pretrained…: the gallery of ImageNet-pretrained networks (parameters, MACs,
accuracy, download size, the preprocessing the dataset settings adopt), the number of
classes or an image folder, and where the weights come from: downloaded once (checked against
the hash in the file name, cached), a local torchvision state_dict file, or random weights.

The project is built off the GUI thread (a download can take a while); a failure (offline,
a file that does not fit) is one sentence in the dialog, and the document is untouched.
Weight files are read as tensors only (torch.load(weights_only=True) or safetensors)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.pretrained import DOWNLOAD, FREEZE_EPOCHS, GALLERY, count_classes, weights_dir

from ...background import BackgroundCall

SOURCES = (("download", "Download the ImageNet weights (once; cached)"),
           ("file", "A local weights file (torchvision .pth or .safetensors)"),
           ("random", "Random weights (the architecture only)"))
COLUMNS = ("Network", "Parameters", "MACs", "ImageNet top-1", "Download")


def build(name: str, classes: int | None, weights, folder: str | None, freeze_epochs: int):
    """The new project, or the one-sentence reason it could not be made (run off the GUI
    thread)."""
    from engine.data.base import DataError
    from engine.pretrained import PretrainedError, new_project
    from engine.transfer import TransferError

    try:
        return new_project(name, classes, weights, folder or None,
                           freeze_epochs=freeze_epochs)
    except (PretrainedError, TransferError, DataError, OSError) as exc:
        return str(exc)


class PretrainedDialog(QDialog):
    """Create builds the project and adopts it as a new, unsaved document of `window`."""

    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.window_ = window
        self.call: BackgroundCall | None = None
        self.setWindowTitle("New from pretrained network")
        self.resize(760, 600)
        self.table = self._table()
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setMinimumHeight(96)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addLayout(self._form())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create")
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.table.selectRow(0)
        self._source_changed()

    # -- building -------------------------------------------------------------------------------
    def _table(self) -> QTableWidget:
        t = QTableWidget(len(GALLERY), len(COLUMNS))
        t.setHorizontalHeaderLabels(COLUMNS)
        t.verticalHeader().setVisible(False)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, net in enumerate(GALLERY.values()):
            cells = (net.title, f"{net.params / 1e6:.1f} M", _macs(net.gmacs),
                     f"{net.top1:.1f} %", f"{net.file_mb:.0f} MB")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, net.name)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(net.description)
                t.setItem(row, col, item)
        header = t.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        t.itemSelectionChanged.connect(self._show_details)
        t.itemDoubleClicked.connect(lambda _i: self.create())
        return t

    def _form(self) -> QFormLayout:
        self.classes = QSpinBox()
        self.classes.setRange(1, 1_000_000)
        self.classes.setValue(1000)
        self.classes.setToolTip("Outputs of the new classifier (ImageNet's 1000 keeps the "
                                "original head)")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("optional: an image folder, one sub-folder per class")
        self.folder.editingFinished.connect(self._folder_changed)
        self.source = QComboBox()
        for key, text in SOURCES:
            self.source.addItem(text, key)
        self.source.currentIndexChanged.connect(self._source_changed)
        self.weights_file = QLineEdit()
        self.weights_file.setPlaceholderText("resnet18-f37072fd.pth")
        self.weights_row = _with_browse(self.weights_file, self._browse_weights)
        self.fine_tune = QCheckBox("Fine-tune: the new head learns alone for")
        self.fine_tune.setChecked(True)
        self.freeze_epochs = QSpinBox()
        self.freeze_epochs.setRange(1, 1000)
        self.freeze_epochs.setValue(FREEZE_EPOCHS)
        self.freeze_epochs.setSuffix(" epochs")
        self.fine_tune.toggled.connect(self.freeze_epochs.setEnabled)
        tune = QHBoxLayout()
        tune.addWidget(self.fine_tune)
        tune.addWidget(self.freeze_epochs)
        tune.addWidget(QLabel(", then every layer (the backbone at 0.1× the rate)"), 1)
        form = QFormLayout()
        form.addRow("&Classes:", self.classes)
        form.addRow("Image &folder:", _with_browse(self.folder, self._browse_folder))
        form.addRow("&Weights:", self.source)
        form.addRow("Weights &file:", self.weights_row)
        form.addRow("Training:", tune)
        self.form = form
        return form

    # -- reacting -------------------------------------------------------------------------------
    def chosen(self):
        rows = self.table.selectionModel().selectedRows()
        row = rows[0].row() if rows else 0
        return GALLERY[self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)]

    def _show_details(self) -> None:
        net = self.chosen()
        pre = net.preprocess
        cached = (weights_dir() / net.file).is_file()
        self.details.setText(
            f"<b>{net.title}</b> — {net.description}<br>"
            f"<b>ImageNet preprocessing:</b> {pre.describe()}. The dataset settings adopt it: "
            "your images are read as RGB and prepared exactly this way.<br>"
            f"<b>Weights:</b> {net.file} ({net.file_mb:.0f} MB), "
            + ("already downloaded." if cached else f"from {net.url}"))
        self.weights_file.setPlaceholderText(net.file)

    def _source_changed(self, *_) -> None:
        self.form.setRowVisible(self.weights_row, self.source.currentData() == "file")

    def _folder_changed(self) -> None:
        folder = self.folder.text().strip()
        if not folder:
            return
        try:
            n = count_classes(folder)
        except (OSError, ValueError) as exc:
            self._say(f"The image folder {folder} cannot be read ({exc}).", error=True)
            return
        if n:
            self.classes.setValue(n)
            self._say(f"{Path(folder).name}: {n} classes.")

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Image folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self._folder_changed()

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights file", self.weights_file.text(),
                                              "Weights (*.pth *.pt *.safetensors)")
        if path:
            self.weights_file.setText(path)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c0392b;" if error else "")
        self.message.setText(text)

    # -- creating -------------------------------------------------------------------------------
    def create(self) -> None:
        if self.call is not None:
            return
        net, source = self.chosen(), self.source.currentData()
        weights = {"download": DOWNLOAD, "random": None}.get(source)
        if source == "file":
            weights = self.weights_file.text().strip()
            if not weights:
                self._say("Choose the weights file first.", error=True)
                return
        folder = self.folder.text().strip() or None
        classes = None if folder and self.classes.value() == 1000 else self.classes.value()
        freeze = self.freeze_epochs.value() if self.fine_tune.isChecked() else 0
        if source == "download" and not (weights_dir() / net.file).is_file():
            self._say(f"Downloading {net.file} ({net.file_mb:.0f} MB)…")
        else:
            self._say(f"Building {net.title}…")
        self.create_button.setEnabled(False)
        self.call = BackgroundCall(build, net.name, classes, weights, folder, freeze)
        self.call.succeeded.connect(self._built)
        self.call.failed.connect(lambda message, _tb: self._built(message))
        self.call.start()

    def _built(self, result) -> None:
        self.call = None
        self.create_button.setEnabled(True)
        if isinstance(result, str):
            self._say(result[:1].upper() + result[1:], error=True)
            return
        net = self.chosen()
        self.window_.document.adopt(result)
        what = result.meta.get("pretrained", {}).get("weights", "random weights")
        self.window_.log_event(f"New project from {net.title} ({what}; unsaved)")
        self.accept()


def _macs(gmacs: float) -> str:
    return f"{gmacs:.2f} G" if gmacs >= 0.1 else f"{gmacs * 1000:.0f} M"


def _with_browse(edit: QLineEdit, slot) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    button = QPushButton("Browse…")
    button.clicked.connect(slot)
    lay.addWidget(button)
    return row


def run(window) -> None:
    """File > New from Pretrained…"""
    if not window.confirm_discard():
        return
    PretrainedDialog(window).exec()
