"""Gradient norm per layer over training steps (log scale: vanishing or exploding gradients
show as lines diving or climbing), and a histogram of each layer's weights."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from studio.ui.plots.buffers import CurveBuffer

from .lazy import BuiltWhenShown
from .pca import PALETTE


class GradientView(BuiltWhenShown, QWidget):
    """Norms arrive with `add_norms` (kept in buffers, drawn batched while shown), weights
    with `set_weights`; the plots are made when the view is first shown (lazy.py)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.names: dict[str, str] = {}
        self.buffers: dict[str, CurveBuffer] = {}
        self.curves: dict = {}        # node id -> its norm curve, as drawn
        self.weights: dict = {}    # node id -> its weight (or None), for the histograms
        self._hist_drawn = True
        self.count = 0
        # norms arrive ~10 times a second: draw them at most every DRAW_MS (each draw
        # holds the GIL the training thread needs)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DRAW_MS)
        self._timer.timeout.connect(self._changed)

    DRAW_MS = 500

    def _build(self) -> None:
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        # side by side: the bottom panel is wide and short, and stacked plots of ~80 px each
        # had their log-axis labels overlap; one legend names the layers for both (same colours)
        self.norms = self.view.addPlot(title="gradient norm per layer", row=0, col=0)
        self.norms.setLogMode(y=True)
        self.norms.setLabel("bottom", "snapshot (one per batch event)")
        self.norms.getAxis("left").setStyle(maxTickLevel=1)
        self.legend = self.norms.addLegend(offset=(-5, 5), labelTextSize="7pt", colCount=2,
                                           verSpacing=-6)
        self.hist = self.view.addPlot(title="weight distribution (same colours)", row=0,
                                      col=1)
        self.hist.setLabel("bottom", "weight value")
        self.layout().addWidget(self.view)
        self._hist_drawn = False

    def reset(self, names: dict[str, str]) -> None:
        """A new run of the layers `names` (node id -> name): no norms yet."""
        self.names = dict(names)
        if self.built:
            self.norms.clear()
        self.buffers.clear()
        self.curves.clear()
        self.count = 0

    def clear(self) -> None:
        """No norms and no weight histograms (another project was opened)."""
        self.reset({})
        self.weights, self._hist_drawn = {}, False
        self._cleared()

    def add_norms(self, norms: dict) -> None:
        """Keep the norms; their curves (and legend entries, ~10 ms each) are made and
        drawn when the view is shown, not on the GUI thread of a run that does not show it."""
        self.count += 1
        for nid, value in norms.items():
            if nid not in self.buffers:
                self.buffers[nid] = CurveBuffer(256)
            if value and np.isfinite(value) and value > 0:
                self.buffers[nid].append(self.count, float(value))
        if self.isVisible() and not self._timer.isActive():
            self._timer.start()

    def set_weights(self, weights: dict[str, dict[str, np.ndarray]]) -> None:
        self.weights = {nid: t.get("weight") for nid, t in weights.items()}
        self._hist_drawn = False
        self._changed()

    def _render(self) -> None:
        for nid, buf in self.buffers.items():
            if nid not in self.curves:
                colour = PALETTE[len(self.curves) % len(PALETTE)]
                self.curves[nid] = self.norms.plot(pen=pg.mkPen(colour, width=1.5),
                                                   name=self.names.get(nid, nid))
            self.curves[nid].setData(buf.x, buf.y)
        if not self._hist_drawn:
            self._hist_drawn = True
            self.hist.clear()
            for k, (nid, w) in enumerate(self.weights.items()):
                if w is None:
                    continue
                counts, edges = np.histogram(np.ravel(w), bins=40)
                self.hist.plot(edges, counts / max(counts.max(), 1), stepMode="center",
                               pen=pg.mkPen(PALETTE[k % len(PALETTE)], width=1.5),
                               name=self.names.get(nid, nid))
