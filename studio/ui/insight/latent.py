"""A VAE's latent space, live while it trains: the codes μ of validation samples coloured by
class (left) and the digits the decoder draws across the latent plane (right: the classic
manifold picture); after training, "Sample from prior" decodes codes drawn from N(0, I)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .columns import columns_over_info, tile_view
from .lazy import BuiltWhenShown
from .mosaic import mosaic, normalize_tiles
from .pca import PALETTE


class LatentView(BuiltWhenShown, QWidget):
    """`set_snapshot(LatentSnapshot)` each epoch, `show_samples(tiles)` after training; the
    plots are made when the view is first shown (lazy.py)."""

    EMPTY = ("The latent space of a VAE (a model with a Sampling layer) appears here while "
             "it trains: each sample's code coloured by its class, and what the decoder draws "
             "across the latent plane.")

    sample_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid_title = QLabel("Decoded across the latent plane")
        self.scatter_title = QLabel("Codes by class")
        self.sample_button = QPushButton("Sample from prior")
        self.sample_button.setToolTip("Decode 64 codes drawn from N(0, I) with the model's "
                                      "learned weights: new digits, not reconstructions")
        self.sample_button.clicked.connect(self.sample_requested)
        self.sample_button.setEnabled(False)
        self.left, self.right, right_head = QVBoxLayout(), QVBoxLayout(), QHBoxLayout()
        self.left.addWidget(self.scatter_title)
        right_head.addWidget(self.grid_title, 1)
        right_head.addWidget(self.sample_button)
        self.right.addLayout(right_head)
        self.info = columns_over_info(self, self.left, self.right, self.EMPTY)
        self.codes: np.ndarray | None = None
        self.labels, self.class_names = None, ()
        self.tiles: np.ndarray | None = None      # the decoded grid or the samples shown
        self.epoch = 0

    def _build(self) -> None:
        self.scatter = pg.PlotWidget(background="w")
        self.scatter.addLegend(offset=(-5, 5), labelTextSize="8pt", colCount=2)
        self.scatter.setLabel("bottom", "z₁")
        self.scatter.setLabel("left", "z₂")
        for axis in ("bottom", "left"):
            self.scatter.getAxis(axis).enableAutoSIPrefix(False)
        self.scatter.setToolTip("Each validation sample's code μ (the encoder's mean), "
                                "coloured by its class")
        self.grid_view, self.box, self.image = tile_view(
            "The decoder's output for codes on a grid across the latent plane (5% to 95% "
            "quantiles of the prior N(0, 1) per axis)")
        self.left.addWidget(self.scatter, 1)
        self.right.addWidget(self.grid_view, 1)

    def clear(self) -> None:
        """Back to empty (another project was opened)."""
        self.codes, self.tiles, self.epoch = None, None, 0
        self._cleared()
        self.info.setText(self.EMPTY)
        self.grid_title.setText("Decoded across the latent plane")

    def set_snapshot(self, ev) -> None:
        """Show a LatentSnapshot (engine.train.events) of the run."""
        self.epoch = ev.epoch
        self.codes, self.labels, self.class_names = ev.codes, ev.labels, ev.class_names
        self.tiles = ev.tiles
        self._changed()
        self.grid_title.setText("Decoded across the latent plane")
        latent = ev.codes.shape[1]
        extra = "" if latent == 2 else f" (the first 2 of {latent} latent units)"
        self.info.setText(f"Epoch {ev.epoch}: codes of {len(ev.codes)} validation "
                          f"samples{extra}")
        self.info.setToolTip("As the VAE learns, samples of one class gather and the decoded "
                             "grid morphs smoothly from one kind of digit to the next.")

    def show_samples(self, tiles: np.ndarray) -> None:
        self.tiles = tiles
        self._changed()
        self.grid_title.setText(f"{len(tiles)} samples from the prior N(0, I)")

    def _render(self) -> None:
        self._draw_codes()
        if self.tiles is None:
            self.image.clear()
            return
        tiles = self.tiles
        n = int(round(np.sqrt(len(tiles))))
        cols = n if n * n == len(tiles) else None
        grid, _ = mosaic(normalize_tiles(tiles) if tiles.max() > 1 or tiles.min() < 0
                         else np.asarray(tiles, np.float32), pad=1, cols=cols)
        self.image.setImage(np.nan_to_num(grid, nan=1.0).T, levels=(0, 1))
        self.box.autoRange(padding=0.01)

    def _draw_codes(self) -> None:
        self.scatter.clear()
        codes, labels, class_names = self.codes, self.labels, self.class_names
        if codes is None:
            return
        x = codes[:, 0]
        y = codes[:, 1] if codes.shape[1] > 1 else np.zeros_like(x)
        if labels is None:
            self.scatter.plot(x, y, pen=None, symbol="o", symbolSize=5, symbolPen=None)
            return
        for k in np.unique(labels):
            m = labels == k
            name = class_names[int(k)] if int(k) < len(class_names) else str(int(k))
            self.scatter.plot(x[m], y[m], pen=None, symbol="o", symbolSize=5, symbolPen=None,
                              symbolBrush=PALETTE[int(k) % len(PALETTE)], name=name)
