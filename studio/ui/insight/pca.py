"""2-D PCA of a layer's activations on the validation samples, coloured by label."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.insight import pca_2d

from .lazy import BuiltWhenShown

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


class PCAView(BuiltWhenShown, QWidget):
    """`show_projection(...)`; the plot is made when the view is first shown (lazy.py)."""

    EMPTY = ("Pick a layer: its activations are projected on two principal components "
             "after the run.")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.info = QLabel(self.EMPTY)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        self.points: np.ndarray | None = None
        self._shown: tuple | None = None      # (ratio, labels, class names) of `points`

    def _build(self) -> None:
        self.plot = pg.PlotWidget(background="w")
        self.plot.addLegend(offset=(-5, 5))
        self.layout().insertWidget(0, self.plot, 1)

    def clear(self) -> None:
        """Back to empty (another project was opened)."""
        self.points, self._shown = None, None
        self._cleared()
        self.info.setText(self.EMPTY)

    def set_activations(self, name: str, acts: np.ndarray, labels: np.ndarray | None,
                        class_names: list[str] | None = None) -> None:
        self.show_projection(name, pca_2d(acts), acts.shape, labels, class_names)

    def show_projection(self, name: str, projection, shape, labels, class_names=None) -> None:
        """Draw precomputed (points, explained-variance ratio) of activations of `shape`."""
        pts, ratio = projection
        self.points, self._shown = pts, (ratio, labels, class_names)
        self._changed()
        self.info.setText(f"{name}: {len(pts)} samples, {int(np.prod(shape[1:]))} values each")

    def _render(self) -> None:
        self.plot.clear()
        if self._shown is None:
            self.plot.setLabel("bottom", "")
            self.plot.setLabel("left", "")
            return
        pts, (ratio, labels, class_names) = self.points, self._shown
        if labels is None or np.ndim(labels) != 1:
            self.plot.plot(pts[:, 0], pts[:, 1], pen=None, symbol="o", symbolSize=5)
        else:
            for k in np.unique(labels):
                m = labels == k
                colour = PALETTE[int(k) % len(PALETTE)]
                name_k = class_names[int(k)] if class_names and int(k) < len(class_names) \
                    else str(int(k))
                self.plot.plot(pts[m, 0], pts[m, 1], pen=None, symbol="o", symbolSize=5,
                               symbolBrush=colour, symbolPen=None, name=name_k)
        self.plot.setLabel("bottom", f"PC1 ({100 * ratio[0]:.0f}% of variance)")
        self.plot.setLabel("left", f"PC2 ({100 * ratio[1]:.0f}%)")
