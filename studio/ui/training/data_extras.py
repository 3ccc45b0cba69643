"""Below the dataset picker: streaming from disk, training augmentation with a live
before/after preview of a few training images, and the class balance of the training split as
a bar chart. Every setting edit goes through the picker's commit (one undoable command)."""
from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..images import as_image, to_pixmap
from .fields import ChoiceBinding, IntBinding

FLIPS = [("none", None), ("left-right", "horizontal"), ("up-down", "vertical"),
         ("both", "both")]
# (augment key, label, maximum, step, tooltip); jitter keys live in augment.color_jitter
AMOUNTS = [
    ("rotate", "Rotate up to (°)", 180.0, 5.0, ("Each training image is turned by a random "
     "angle up to this many degrees")),
    ("brightness", "Brightness ±", 1.0, 0.05, ("Colour jitter: brightness scaled by a random "
     "factor in 1 ± this (RGB images)")),
    ("contrast", "Contrast ±", 1.0, 0.05, ("Colour jitter: contrast scaled by a random factor "
     "in 1 ± this (RGB images)")),
    ("saturation", "Saturation ±", 1.0, 0.05, ("Colour jitter: saturation scaled by a random "
     "factor in 1 ± this (RGB images)")),
    ("noise", "Noise (std)", 1.0, 0.01, ("Gaussian noise added to every pixel, as a fraction "
     "of the pixel range")),
]
JITTER = ("brightness", "contrast", "saturation")
PREVIEW = 4   # images in the before/after rows


class DataExtras(QWidget):
    """`commit(section, path, value)` is the dataset picker's (checks, then pushes)."""

    def __init__(self, commit, parent: QWidget | None = None):
        super().__init__(parent)
        self.commit = commit
        self.dataset: dict = {}
        self.preview: dict | None = None
        self.seed = 0
        self.stream = ChoiceBinding("dataset", ("stream",), "auto",
                                    [("when over the memory budget", "auto"),
                                     ("always", True), ("never (refuse)", False)])
        self.stream.commit = commit
        self.stream.widget.setToolTip(
            "CSV files, .npy files and image folders larger than the dataset's memory budget "
            "are read from disk batch by batch (worker processes: Training > workers); the "
            "budget is then what stays decoded in memory")
        self.workers = IntBinding("training", ("num_workers",), 0, 0, os.cpu_count() or 1)
        self.workers.commit = commit
        self.workers.widget.setToolTip(
            "Worker processes that read, decode, resize and augment the batches of data "
            "streamed from disk (0: the training thread does it)")
        stream_form = QFormLayout()
        stream_form.addRow("Stream from disk", self.stream.widget)
        stream_form.addRow("Worker processes", self.workers.widget)
        form = QFormLayout()
        self.flip = QComboBox()
        for label, value in FLIPS:
            self.flip.addItem(label, value)
        self.flip.setToolTip("Mirror each training image with probability 0.5")
        self.flip.activated.connect(lambda _i: self._set("flip", self.flip.currentData()))
        form.addRow("Flip", self.flip)
        self.amounts: dict[str, QDoubleSpinBox] = {}
        for key, label, high, step, tip in AMOUNTS:
            spin = QDoubleSpinBox()
            spin.setRange(0.0, high)
            spin.setSingleStep(step)
            spin.setDecimals(0 if key == "rotate" else 2)
            spin.setKeyboardTracking(False)
            spin.setToolTip(tip)
            spin.valueChanged.connect(lambda v, k=key: self._set(k, v or None))
            self.amounts[key] = spin
            form.addRow(label, spin)
        self.augment_box = QGroupBox("Augmentation (training batches only)")
        self.augment_box.setLayout(form)
        self.before_after = QGridLayout()
        self.before_after.setSpacing(3)
        self.again = QPushButton("Other random draws")
        self.again.setToolTip("Draw new random augmentations of the same images")
        self.again.clicked.connect(self._reseed)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.balance = ClassBalance()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(stream_form)
        lay.addWidget(self.augment_box)
        lay.addWidget(self.hint)
        lay.addLayout(self.before_after)
        lay.addWidget(self.again)
        lay.addWidget(self.balance)
        self.show_dataset({})

    # -- settings -----------------------------------------------------------------------------
    def augment(self) -> dict:
        return dict(self.dataset.get("augment") or {})

    def _set(self, key: str, value) -> None:
        """One undoable edit of one augmentation amount (repeated edits of it merge)."""
        path = ("augment", "color_jitter", key) if key in JITTER else ("augment", key)
        self.commit("dataset", path, value)

    def show_dataset(self, dataset: dict, training: dict | None = None) -> None:
        """Show the stored settings (after any edit, undo or project change)."""
        self.dataset = dataset
        self.stream.show(dataset.get("stream"))
        self.workers.show((training or {}).get("num_workers"))
        self.stream.widget.setEnabled(dataset.get("source") in ("csv", "npy", "image_folder"))
        aug = self.augment()
        jitter = aug.get("color_jitter") or {}
        old = self.flip.blockSignals(True)
        flip = "horizontal" if aug.get("flip") is True else aug.get("flip") or None
        self.flip.setCurrentIndex(max(0, self.flip.findData(flip)))
        self.flip.blockSignals(old)
        for key, spin in self.amounts.items():
            old = spin.blockSignals(True)
            spin.setValue(float((jitter if key in JITTER else aug).get(key) or 0.0))
            spin.blockSignals(old)
        self._draw_before_after()

    # -- preview ------------------------------------------------------------------------------
    def show_preview(self, data: dict | None) -> None:
        """A dataset preview (studio.ui.training.dataset_preview.load_preview) arrived, or None."""
        self.preview = data
        self.balance.show_counts(data.get("class_counts") if data else None)
        self._draw_before_after()

    def _reseed(self) -> None:
        self.seed += 1
        self._draw_before_after()

    def _images(self) -> np.ndarray | None:
        data = self.preview
        if not data or data.get("dtype") != "float":
            return None
        x = np.asarray(data["x"][:PREVIEW], np.float32)
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            return None
        return x

    def _draw_before_after(self) -> None:
        while self.before_after.count():
            w = self.before_after.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        x, aug = self._images(), self.augment()
        self.again.setVisible(x is not None and bool(aug))
        if x is None:
            self.hint.setText("Preview an image dataset to see its augmentation here."
                              if aug else "")
            return
        if not aug:
            self.hint.setText("No augmentation: training images are used as they are.")
            return
        try:
            after = augmented(x, aug, self.preview.get("value_range", 1.0), self.seed)
        except ValueError as exc:
            self.hint.setText(f"<span style='color:#c0392b'>{exc}</span>")
            return
        self.hint.setText("Before (top) and after augmentation (bottom): each training batch "
                          "gets new random draws.")
        span = float(self.preview.get("value_range") or 1.0)
        for row, images in enumerate((x, after)):
            for col, img in enumerate(images):
                cell = QLabel()
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.setPixmap(to_pixmap(as_image(img), 56, (0.0, span)))
                cell.setToolTip("original" if row == 0 else "augmented")
                self.before_after.addWidget(cell, row, col)


def augmented(x: np.ndarray, config: dict, value_range: float, seed: int) -> np.ndarray:
    """Raw images (N, C, H, W) as one training batch would be augmented (ValueError: a bad
    setting). Values are clipped to the value range for display."""
    import torch

    from engine.data.augment import BatchTransform

    transform = BatchTransform(config, None, value_range)
    out = transform.augment(torch.from_numpy(np.ascontiguousarray(x)), seed).numpy()
    return np.clip(out, 0.0, value_range or 1.0)


class ClassBalance(QWidget):
    """The number of training samples of each class, as a bar chart (pyqtgraph)."""

    MAX_BARS = 40

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.plot = None
        self.counts: list[tuple[str, int]] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addWidget(self.title)
        self.setVisible(False)

    def show_counts(self, counts: list[tuple[str, int]] | None) -> None:
        self.counts = list(counts or [])
        self.setVisible(bool(self.counts))
        if not self.counts:
            return
        import pyqtgraph as pg

        from ..theme import plot_colors

        if self.plot is None:
            self.plot = pg.PlotWidget()
            self.plot.setMinimumHeight(120)
            self.plot.setMaximumHeight(170)
            self.plot.setMouseEnabled(False, False)
            self.plot.hideButtons()
            self.layout().addWidget(self.plot)
        shown = self.counts[:self.MAX_BARS]
        background, foreground = plot_colors()
        self.plot.setBackground(background)
        self.plot.clear()
        values = [c for _, c in shown]
        mean = sum(c for _, c in self.counts) / len(self.counts)
        brushes = [pg.mkBrush("#d9822b" if c < 0.5 * mean else "#3d7ebf") for c in values]
        self.plot.addItem(pg.BarGraphItem(x=np.arange(len(shown)), height=values, width=0.7,
                                          brushes=brushes, pen=None))
        axis = self.plot.getAxis("bottom")
        axis.setTicks([[(i, _short(name)) for i, (name, _) in enumerate(shown)]])
        for side in ("bottom", "left"):
            self.plot.getAxis(side).setPen(foreground)
            self.plot.getAxis(side).setTextPen(foreground)
        low = min(self.counts, key=lambda nc: nc[1])
        high = max(self.counts, key=lambda nc: nc[1])
        more = f" (first {self.MAX_BARS} shown)" if len(self.counts) > self.MAX_BARS else ""
        self.title.setText(f"Class balance of the training split{more}: "
                           f"{low[1]}–{high[1]} samples per class")
        self.plot.setToolTip("\n".join(f"{n}: {c}" for n, c in self.counts[:60]) +
                             ("\nOrange: under half the mean count" if any(
                                 c < 0.5 * mean for c in values) else ""))


def _short(name: str) -> str:
    return name if len(name) <= 8 else name[:7] + "…"
