"""2-D PCA of a layer's activations on the validation samples, coloured by label."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.insight import pca_2d

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


class PCAView(QWidget):
    EMPTY = ("Pick a layer: its activations are projected on two principal components "
             "after the run.")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.addLegend(offset=(-5, 5))
        self.info = QLabel(self.EMPTY)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.info)
        self.points: np.ndarray | None = None

    def clear(self) -> None:
        """Back to empty (another project was opened)."""
        self.plot.clear()
        self.points = None
        self.plot.setLabel("bottom", "")
        self.plot.setLabel("left", "")
        self.info.setText(self.EMPTY)

    def set_activations(self, name: str, acts: np.ndarray, labels: np.ndarray | None,
                        class_names: list[str] | None = None) -> None:
        self.show_projection(name, pca_2d(acts), acts.shape, labels, class_names)

    def show_projection(self, name: str, projection, shape, labels, class_names=None) -> None:
        """Draw precomputed (points, explained-variance ratio) of activations of `shape`."""
        self.plot.clear()
        pts, ratio = projection
        self.points = pts
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
        self.info.setText(f"{name}: {len(pts)} samples, {int(np.prod(shape[1:]))} values each")
