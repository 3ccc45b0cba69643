"""Autoencoder reconstructions: inputs (top row) over the model's outputs (bottom row)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..images import as_image
from .lazy import BuiltWhenShown
from .mosaic import mosaic, normalize_tiles


class ReconstructionView(BuiltWhenShown, QWidget):
    """`set_pairs(inputs, outputs)`; the mosaic's view is made when first shown (lazy.py)."""

    EMPTY = "Reconstructions appear for models whose target is their input."

    def __init__(self, parent: QWidget | None = None, image_shape=None):
        super().__init__(parent)
        self.image_shape = image_shape
        self.info = QLabel(self.EMPTY)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        self.shown = 0
        self.grid: np.ndarray | None = None      # the mosaic to draw

    def _build(self) -> None:
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.box = self.view.addViewBox(lockAspect=True, invertY=True)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("CET-L1"))
        self.box.addItem(self.image)
        self.layout().insertWidget(0, self.view, 1)

    def _render(self) -> None:
        if self.grid is None:
            self.image.clear()
            return
        self.image.setImage(np.nan_to_num(self.grid, nan=1.0).T, levels=(0, 1))
        self.box.autoRange(padding=0.01)

    def clear(self) -> None:
        """Back to empty (another project was opened)."""
        self.grid, self.shown = None, 0
        self._cleared()
        self.info.setText(self.EMPTY)

    def set_pairs(self, x: np.ndarray, out: np.ndarray, n: int = 10) -> None:
        n = min(n, len(x))
        imgs = []
        for row in (x[:n], out[:n]):
            for s in row:
                img = as_image(np.asarray(s).reshape(np.shape(x[0])), self.image_shape)
                if img is None:
                    img = np.asarray(s, np.float32).reshape(1, -1)
                img = np.asarray(img, np.float32)
                imgs.append(img[0] if img.ndim == 3 else img)
        tiles = normalize_tiles(np.stack(imgs))
        self.grid, _ = mosaic(tiles, pad=1, cols=n)
        self.shown = n
        self._changed()
        mse = float(np.mean((np.asarray(out, np.float64).reshape(len(out), -1) -
                             np.asarray(x, np.float64).reshape(len(x), -1)) ** 2))
        self.info.setText(f"top: inputs, bottom: reconstructions; validation MSE {mse:.4g}")
