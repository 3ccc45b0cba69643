"""The dataset picker's preview (a few samples with their shapes, sizes and classes, loaded
off the GUI thread) and its "Set Input shape from data" (one undoable edit, from the dataset
profile the document keeps, so it works without a preview). A part of DatasetPicker."""
from __future__ import annotations

import copy
import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from engine.data import CATALOGUE
from engine.fit import suggest_input_shape
from studio.background import BackgroundCall
from studio.commands import MacroCommand, SetParamCommand

from ..dialogs.outside_data import confirm_outside_data
from ..images import as_image, to_pixmap


def load_preview(config: dict, folder, n: int = 8, allow_outside: bool = False) -> dict:
    """Load the dataset and describe it: sizes, shapes, classes and the first n samples."""
    from engine.data import load_dataset
    from engine.data.prep import denormalize_inputs

    splits = load_dataset(config, folder, allow_outside=allow_outside)
    x = splits.train.x[:n]
    norm = getattr(splits, "normalization", None)
    if norm is not None and x.dtype.kind == "f":
        x = denormalize_inputs(x, norm)
    info = CATALOGUE.get(config.get("name", ""))
    return {"sizes": (len(splits.train), len(splits.val or []), len(splits.test or [])),
            "class_counts": class_counts(splits), "value_range": splits.value_range,
            "shape": splits.sample_shape, "dtype": splits.input_dtype,
            "image_shape": info.image_shape if info else None,
            "tasks": splits.tasks, "class_names": splits.class_names,
            "x": np.asarray(x), "y": [np.asarray(t[:n]) for t in splits.train.y],
            "description": splits.description or (info.description if info else "")}


def download_note(config: dict) -> str:
    """Where a download dataset stands (rich text): in the cache, or what Preview and Train
    will fetch, and where to."""
    from engine.data import DataError
    from engine.data.download import cache_dir, download_size_mb, missing_files

    name = config.get("name", "")
    try:
        folder, missing = cache_dir(config) / name, missing_files(name, config)
    except DataError as exc:
        return f"<br><span style='color:#c0392b'>{html.escape(str(exc))}</span>"
    if not missing:
        return f"<br>Downloaded, in {html.escape(str(folder))}"
    return (f"<br><b>Not downloaded yet:</b> Preview or Train downloads it once "
            f"(~{download_size_mb(name):.0f} MB) into {html.escape(str(folder))}")


def not_downloaded(config: dict) -> bool:
    """A download dataset some of whose files are not in the cache yet."""
    if config.get("source") != "download":
        return False      # (without importing the download code: ~40 ms at start-up)
    from engine.data import DataError
    from engine.data.download import RESOURCES, missing_files

    name = config.get("name")
    if name not in RESOURCES:
        return False
    try:
        return bool(missing_files(name, config))
    except DataError:
        return False


def class_counts(splits) -> list[tuple[str, int]] | None:
    """(class name, training samples) per class of the first target, when it has classes."""
    names = splits.class_names[0] if splits.class_names else None
    k = splits.num_classes[0] if splits.num_classes else None
    if not splits.train.y or not k or splits.tasks[0] not in ("classification", "binary"):
        return None
    y = np.asarray(splits.train.y[0])
    if y.ndim != 1:
        return None
    counts = np.bincount(y.astype(np.int64), minlength=k)
    names = names or [str(i) for i in range(k)]
    return [(str(n), int(c)) for n, c in zip(names, counts)]


class PreviewAndShape:
    """DatasetPicker's preview and input-shape button (a mixin: it uses the picker's
    widgets, `document`, `dataset`, `preview_data`, `_call` and `_push`)."""

    # -- preview ------------------------------------------------------------------------------
    def load_preview(self) -> None:
        project = self.document.project
        if not confirm_outside_data(self, project):
            self.info.setText("<span style='color:#c0392b'>Not loaded: the data lies outside "
                              "the project folder and reading it was not allowed</span>")
            return
        self.info.setText("Loading…")
        self.preview_button.setEnabled(False)
        self._call = BackgroundCall(load_preview, copy.deepcopy(self.dataset), project.folder,
                                    8, project.allow_outside_data)
        self._call.succeeded.connect(self._show_preview)
        self._call.failed.connect(self._preview_failed)
        self._call.start()

    def _preview_failed(self, message: str, _tb: str) -> None:
        self.preview_button.setEnabled(True)
        self.info.setText(f"<span style='color:#c0392b'>{message}</span>")

    def _clear_samples(self) -> None:
        while self.samples.count():
            w = self.samples.takeAt(0).widget()
            if w is not None:
                w.deleteLater()

    def _show_preview(self, data: dict) -> None:
        self.preview_button.setEnabled(True)
        self._name_preview_button()   # downloaded now
        self.preview_data = data
        n_train, n_val, n_test = data["sizes"]
        classes = data["class_names"][0] if data["class_names"] else None
        self.info.setText(
            f"{data['description']}<br>train {n_train} · validation {n_val} · test {n_test}"
            f"<br>sample shape <b>{tuple(data['shape'])}</b> ({data['dtype']}), task "
            f"{', '.join(data['tasks']) or '?'}")
        self._clear_samples()
        for i, sample in enumerate(data["x"][:8]):
            y = data["y"][0][i] if data["y"] else None
            label = classes[int(y)] if classes is not None and y is not None and \
                np.ndim(y) == 0 else (np.array2string(np.asarray(y), precision=2,
                                                      threshold=4) if y is not None else "")
            img = as_image(sample, data.get("image_shape"))
            cell = QLabel()
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            if img is not None:
                cell.setPixmap(to_pixmap(img))
            else:
                flat = np.asarray(sample).ravel()
                cell.setText(np.array2string(flat[:4], precision=2, separator=" ") +
                             ("…" if flat.size > 4 else ""))
            cell.setToolTip(f"shape {tuple(np.shape(sample))}, target {label}")
            caption = QLabel(str(label))
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.samples.addWidget(cell, 0 if i < 4 else 2, i % 4)
            self.samples.addWidget(caption, 1 if i < 4 else 3, i % 4)
        self.extras.show_preview(data)
        self.preview_ready.emit(data)

    # -- input shape --------------------------------------------------------------------------
    def input_node(self):
        # the first one (usually the first node: not a look at every node of a big graph)
        return next((n for n in self.document.graph.nodes.values() if n.spec.role == "input"),
                    None)

    def profile(self):
        """The document's profile of the dataset (engine.fit), or None while unknown."""
        fit = getattr(self.document, "fit", None)
        return fit.profile if fit is not None else None

    def suggested_shape(self) -> list[int] | None:
        """The data's sample shape, as (C,H,W) when the Input is image-shaped."""
        profile, node = self.profile(), self.input_node()
        if profile is None or profile.error:
            return None
        return suggest_input_shape(profile, node.params.get("shape") if node else None)

    def apply_input_shape(self) -> None:
        """Set the Input's shape (and dtype) to the data's, as one undoable edit."""
        node, shape, profile = self.input_node(), self.suggested_shape(), self.profile()
        if node is None or shape is None:
            return
        graph = self.document.graph
        macro = MacroCommand(graph, "Set Input shape from data")
        if list(node.params.get("shape", [])) != shape:
            macro.add(SetParamCommand(graph, node.id, "shape", shape))
        dtype = "long" if node.params.get("dtype") == "long" and profile.integral else \
            profile.input_dtype
        if node.params.get("dtype") != dtype:
            macro.add(SetParamCommand(graph, node.id, "dtype", dtype))
        if not macro.children:
            self.info.setText(f"Input '{node.name}' already has shape {tuple(shape)}, like "
                              "the data.")
            return
        if self._push(macro):
            self.info.setText(f"Input '{node.name}' set to shape {tuple(shape)} ({dtype}).")
