"""A GAN while it trains: the generator's samples of one fixed noise batch after each epoch
(the same noise, so the change is the generator's), both losses and the discriminator's mean
outputs D(x) and D(G(z)) per epoch, and a hint when the samples all look alike."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .columns import columns_over_info, tile_view
from .lazy import BuiltWhenShown
from .mosaic import mosaic

CURVES = (("d_loss", "D loss", (214, 39, 40)), ("g_loss", "G loss", (31, 119, 180)),
          ("d_real", "D(x)", (44, 160, 44)), ("d_fake", "D(G(z))", (255, 127, 14)))


class GanView(BuiltWhenShown, QWidget):
    """`set_snapshot(GanSnapshot)` each epoch, `show_samples(tiles)` after training; the
    plots are made when the view is first shown (lazy.py)."""

    EMPTY = ("A GAN (a model with a Generated node) shows here while it trains: its samples "
             "of a fixed noise batch after each epoch, both losses and D(x), D(G(z)).")

    sample_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid_title = QLabel("Samples of a fixed noise batch")
        self.sample_button = QPushButton("New samples")
        self.sample_button.setToolTip("64 samples of fresh noise through the trained generator")
        self.sample_button.setEnabled(False)
        self.sample_button.clicked.connect(self.sample_requested)
        head = QHBoxLayout()
        head.addWidget(self.grid_title, 1)
        head.addWidget(self.sample_button)
        self.left = QVBoxLayout()
        self.left.addLayout(head)
        self.right = QVBoxLayout()
        self.right.addWidget(QLabel("Losses and discriminator outputs per epoch"))
        self.info = columns_over_info(self, self.left, self.right, self.EMPTY)
        self.history: dict[str, list[float]] = {key: [] for key, _, _ in CURVES}
        self.epochs: list[int] = []
        self.tiles: np.ndarray | None = None     # the samples shown
        self.collapse = False

    def _build(self) -> None:
        self.grid_view, self.box, self.image = tile_view(
            "The generator's output for the same 64 noise vectors after every epoch")
        self.plot = pg.PlotWidget(background="w")
        self.plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.plot.setLabel("bottom", "epoch")
        self.plot.setToolTip("D loss and G loss; D(x) and D(G(z)): the discriminator's mean "
                             "probability that real and generated samples are real (at "
                             "balance both near 0.5)")
        self.lines = {key: self.plot.plot([], [], pen=pg.mkPen(colour, width=2), name=name,
                                          symbol="o", symbolSize=4, symbolBrush=colour)
                      for key, name, colour in CURVES}
        self.left.addWidget(self.grid_view, 1)
        self.right.addWidget(self.plot, 1)

    def clear(self) -> None:
        """Back to empty (another project, or a new run)."""
        self.history = {key: [] for key, _, _ in CURVES}
        self.epochs, self.tiles = [], None
        self._cleared()
        self.collapse = False
        self.info.setText(self.EMPTY)
        self.info.setStyleSheet("")

    def set_snapshot(self, ev) -> None:
        """Show a GanSnapshot (engine.train.events); epoch 1 starts a new run's curves."""
        if self.epochs and ev.epoch <= self.epochs[-1]:
            self.clear()
        self.epochs.append(ev.epoch)
        for key, _, _ in CURVES:
            self.history[key].append(float(getattr(ev, key)))
        self.tiles = ev.tiles
        self._changed()
        self.grid_title.setText(f"Samples of a fixed noise batch, epoch {ev.epoch}")
        self.collapse = bool(ev.collapse)
        text = (f"Epoch {ev.epoch}: D(x) {ev.d_real:.2f}, D(G(z)) {ev.d_fake:.2f}; samples "
                f"spread {ev.spread:.0%} as much as real data")
        if ev.collapse:
            text += " — they look alike: possible mode collapse"
        self.info.setText(text)
        self.info.setToolTip(
            f"D loss {ev.d_loss:.4f}, G loss {ev.g_loss:.4f}. Spread: the mean distance "
            "between the fixed-noise samples over that between real samples. When the "
            "generator collapses onto a few outputs, try lower learning rates, label "
            "smoothing, or more discriminator steps per generator step."
            if ev.collapse else f"D loss {ev.d_loss:.4f}, G loss {ev.g_loss:.4f}")
        self.info.setStyleSheet("color: #b35c00;" if ev.collapse else "")

    def show_samples(self, tiles: np.ndarray) -> None:
        self.tiles = tiles
        self._changed()
        self.grid_title.setText(f"{len(tiles)} samples of fresh noise")

    def _render(self) -> None:
        for key, line in self.lines.items():
            line.setData(self.epochs, self.history[key])
        if self.tiles is None:
            self.image.clear()
            return
        grid, _ = mosaic(np.clip(np.asarray(self.tiles, np.float32), 0, 1), pad=1, cols=8)
        self.image.setImage(np.nan_to_num(grid, nan=1.0).T, levels=(0, 1))
        self.box.autoRange(padding=0.01)
