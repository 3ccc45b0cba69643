"""Dataset picker: bundled / synthetic / downloadable by name, or a file; split and
normalization; a preview of a few samples with their shapes; and a button that sets the Input
node's shape from the data (one undoable edit; it uses the dataset profile the document keeps,
so it works without a preview). The preview and the shape button are in dataset_preview.py."""
from __future__ import annotations

import copy
import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.data import CATALOGUE, default_config
from studio.background import BackgroundCall

from .commands import SetProjectSettingCommand
from .data_extras import DataExtras
from .dataset_preview import PreviewAndShape, download_note, not_downloaded
from .fields import ChoiceBinding, FloatBinding, IntBinding

NAMED_SOURCES = ("bundled", "synthetic", "download")
FILE_SOURCES = ("csv", "npy", "npz", "image_folder", "idx")


class DatasetPicker(PreviewAndShape, QGroupBox):
    """Edits `document.project.dataset`. `refused(str)` carries a refusal's reason."""

    refused = Signal(str)
    preview_ready = Signal(dict)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__("Dataset", parent)
        self.document = document
        self.preview_data: dict | None = None
        self._call: BackgroundCall | None = None
        f = QFormLayout()
        self.source = QComboBox()
        for s in (*NAMED_SOURCES, *FILE_SOURCES):
            self.source.addItem(s, s)
        self.source.activated.connect(self._source_edited)
        self.name = QComboBox()
        self.name.activated.connect(self._name_edited)
        self.path = QLineEdit()
        self.path.setPlaceholderText("file or folder, relative to the project")
        self.path.editingFinished.connect(self._path_edited)
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path)
        path_row.addWidget(browse)
        self.path_row = QWidget()
        self.path_row.setLayout(path_row)
        path_row.setContentsMargins(0, 0, 0, 0)
        d = "dataset"
        self.bindings = [
            FloatBinding(d, ("val_split",), 0.2, 0.0, 0.9, 0.05, 2),
            FloatBinding(d, ("test_split",), 0.1, 0.0, 0.9, 0.05, 2),
            IntBinding(d, ("seed",), 0, 0, 2**31 - 1),
            ChoiceBinding(d, ("normalize",), "minmax",
                          [("min-max", "minmax"), ("standardize", "standard"),
                           ("none", "none")]),
            ChoiceBinding(d, ("target",), "label",
                          [("label", "label"), ("input (autoencoder)", "input")]),
        ]
        for b in self.bindings:
            b.commit = self.commit
        f.addRow("Source", self.source)
        f.addRow("Name", self.name)
        f.addRow("Path", self.path_row)
        for label, b in zip(("Validation split", "Test split", "Split seed", "Normalize",
                             "Target"), self.bindings):
            f.addRow(label, b.widget)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.preview_button = QPushButton("Preview")
        self.preview_button.clicked.connect(self.load_preview)
        self.shape_button = QPushButton("Set Input shape from data")
        self.shape_button.clicked.connect(self.apply_input_shape)
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.shape_button)
        self.samples = QGridLayout()
        self.samples.setSpacing(4)
        self.extras = DataExtras(self._commit_setting)
        lay = QVBoxLayout(self)
        lay.addLayout(f)
        lay.addLayout(buttons)
        lay.addWidget(self.info)
        lay.addLayout(self.samples)
        lay.addWidget(self.extras)
        for name in ("data_checked", "changed"):
            signal = getattr(document, name, None)
            if signal is not None:
                signal.connect(self._update_shape_button)
        document.undo_stack.indexChanged.connect(self._clear_refusal)
        self._refusal = False
        self.refresh()

    @property
    def dataset(self) -> dict:
        return self.document.project.dataset

    # -- showing ------------------------------------------------------------------------------
    def refresh(self) -> None:
        ds = self.dataset
        source = ds.get("source", "bundled")
        self.source.blockSignals(True)
        self.source.setCurrentIndex(max(0, self.source.findData(source)))
        self.source.blockSignals(False)
        self.name.blockSignals(True)
        self.name.clear()
        for info in CATALOGUE.values():
            if info.source == source:
                self.name.addItem(info.title, info.name)
        self.name.setCurrentIndex(max(0, self.name.findData(ds.get("name"))))
        self.name.blockSignals(False)
        named = source in NAMED_SOURCES
        self.name.setEnabled(named)
        self.path_row.setEnabled(not named)
        self.path.setText(str(ds.get("path", "")))
        for b in self.bindings:
            b.show(ds.get(b.path[0]))
        info = CATALOGUE.get(ds.get("name", "")) if named else None
        if info and self.preview_data is None and not self._refusal:
            text = f"{info.description}; samples of shape {info.sample_shape}"
            if info.source == "download":
                text = html.escape(text) + download_note(ds)
            self.info.setText(text)
        self._name_preview_button()
        self.extras.show_dataset(self.dataset, self.document.project.training)
        self._update_shape_button()

    def _name_preview_button(self) -> None:
        """"Download and preview" while a download dataset is not in the cache yet."""
        fetch = not_downloaded(self.dataset)
        self.preview_button.setText("Download and preview" if fetch else "Preview")
        self.preview_button.setToolTip(
            "Download the dataset once into the dataset cache, then show a few samples"
            if fetch else "Load the dataset and show a few samples, sizes and classes")

    def _update_shape_button(self, *_) -> None:
        """Enabled when the data's sample shape is known; the tooltip says why not."""
        node, profile = self.input_node(), self.profile()
        if node is None:
            why = "Add an Input node first."
        elif getattr(self.document, "data_pending", False) or (
                profile is None and self.dataset):
            why = "Reading the dataset…"
        elif profile is None:
            why = "Choose a dataset first."
        elif profile.error:
            why = f"The dataset cannot be read: {profile.error}"
        else:
            why = ""
        self.shape_button.setEnabled(not why)
        self.shape_button.setToolTip(why or f"Set the shape of Input '{node.name}' to one "
                                     f"sample of the data: {tuple(self.suggested_shape())}")

    # -- edits --------------------------------------------------------------------------------
    def commit(self, section: str, path: tuple, value) -> bool:
        trial = copy.deepcopy(self.dataset)
        if value is None:
            trial.pop(path[0], None)
        else:
            trial[path[0]] = value
        reason = self.check(trial)
        if reason:
            self.refuse(reason)
            return False
        if not self._push(SetProjectSettingCommand(self.document, "dataset", path, value,
                                                   f"Set dataset.{'.'.join(path)}")):
            return False
        self._changed()
        return True

    def _commit_setting(self, section: str, path: tuple, value) -> bool:
        """An edit that leaves the samples as they are (augmentation, streaming): the preview
        stays, and the before/after images follow the new setting."""
        trial = node = copy.deepcopy(getattr(self.document.project, section))
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if value is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
        if section == "dataset" and (reason := self.check(trial)):
            self.refuse(reason)
            return False
        if not self._push(SetProjectSettingCommand(self.document, section, path, value,
                                                   f"Set {section}.{'.'.join(path)}")):
            return False
        self.refresh()
        return True

    def _push(self, command) -> bool:
        """Push through the document (which refuses edits while a run is active)."""
        try:
            self.document.push(command)
        except (ValueError, KeyError) as exc:
            self.refuse(str(exc).strip("'\""))
            return False
        return True

    def check(self, ds: dict) -> str | None:
        val, test = float(ds.get("val_split", 0.2)), float(ds.get("test_split", 0.1))
        if val + test >= 0.95:
            return (f"validation ({val:g}) and test ({test:g}) splits leave almost no "
                    f"training data: keep their sum below 0.95")
        if ds.get("source") in FILE_SOURCES and ds.get("path"):
            try:
                p = self.document.project.resolve_data_path(ds["path"])
            except Exception as exc:  # noqa: BLE001 - ProjectError names the field
                return str(exc)
            if not p.exists():
                return f"dataset.path: {ds['path']!r} does not exist"
        return None

    def refuse(self, reason: str) -> None:
        self.info.setText(f"<span style='color:#c0392b'>Refused: {reason}</span>")
        self._refusal = True
        self.refused.emit(reason)
        self.refresh()

    def _clear_refusal(self, *_) -> None:
        """An accepted edit or an undo: a refusal shown before is stale."""
        if self._refusal:
            self._refusal = False
            self.info.clear()
            self.refresh()

    def _replace(self, new: dict, text: str) -> None:
        reason = self.check(new)
        if reason:
            self.refuse(reason)
            return
        if self._push(SetProjectSettingCommand(self.document, "dataset", (), new, text)):
            self._changed()

    def _keep_split(self, new: dict) -> dict:
        for key in ("val_split", "test_split", "seed"):
            if key in self.dataset:
                new[key] = self.dataset[key]
        return new

    def _source_edited(self, _i) -> None:
        source = self.source.currentData()
        if source in NAMED_SOURCES:
            first = next(i.name for i in CATALOGUE.values() if i.source == source)
            new = default_config(first)
        else:
            new = {"source": source, "path": ""}
        self._replace(self._keep_split(new), f"Dataset source {source}")

    def _name_edited(self, _i) -> None:
        name = self.name.currentData()
        if name and name != self.dataset.get("name"):
            self._replace(self._keep_split(default_config(name)), f"Dataset {name}")

    def _path_edited(self) -> None:
        text = self.path.text().strip()
        if text != self.dataset.get("path", ""):
            self.document.project.allow_outside_data = True  # typed by the user
            self.commit("dataset", ("path",), text or None)

    def _browse(self) -> None:
        if self.dataset.get("source") == "image_folder":
            path = QFileDialog.getExistingDirectory(self, "Image folder",
                                                    str(self.document.project.folder))
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Data file",
                                                  str(self.document.project.folder))
        if path:
            self.document.project.allow_outside_data = True  # the user chose the file
            self.path.setText(self.document.project.relative_data_path(path))
            self._path_edited()

    def _changed(self) -> None:
        self.preview_data = None
        self._clear_samples()
        self.extras.show_preview(None)
        self.refresh()
