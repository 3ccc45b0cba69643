"""Confusion matrix: rows are the true class, columns the predicted one; counts in cells. The
matrix fills its view and the counts are sized to their cells (hidden when a cell is too small
to hold them legibly). pyqtgraph is imported and the plot made when the view is first shown."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studio.ui.theme import current_name

from .lazy import BuiltWhenShown

MIN_TEXT_PX, MAX_TEXT_PX = 7, 16
# from an empty cell to a full one: near the plot's background to a strong colour, so a
# dark theme does not show a bright block of mostly empty cells; the counts are written in
# the colour that reads on their cell
SHADES = {"light": ((240, 241, 240), (59, 123, 178), "k", "w"),
          "dark": ((38, 43, 50), (120, 178, 235), "#e8eaed", "k")}


def shades() -> tuple[pg.ColorMap, str, str]:
    """The current theme's colour map, and the counts' colour on a low and a high rate."""
    empty, full, on_low, on_high = SHADES["dark" if current_name() == "dark" else "light"]
    return pg.ColorMap([0.0, 1.0], [empty, full]), on_low, on_high


class ConfusionView(BuiltWhenShown, QWidget):
    """`set_matrix(counts, class names)`; drawn when shown (see lazy.py)."""

    EMPTY = "The confusion matrix appears when a classifier's run ends."

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.texts: list = []          # the counts' TextItems, as drawn
        self.info = QLabel(self.EMPTY)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        self.matrix: np.ndarray | None = None
        self.names: list[str] = []
        self.text_px = 0

    def _build(self) -> None:
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.plot = self.view.addPlot()
        self.plot.invertY(True)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.layout().insertWidget(0, self.view, 1)
        self.plot.getViewBox().sigResized.connect(lambda *_: self.fit_texts())

    def clear(self) -> None:
        """Back to empty (another project was opened)."""
        self.matrix, self.names = None, []
        self.info.setText(self.EMPTY)
        self._cleared()

    def set_matrix(self, cm: np.ndarray, class_names: list[str] | None = None) -> None:
        cm = self.matrix = np.asarray(cm)
        n = len(cm)
        self.names = names = class_names if class_names and len(class_names) == n else \
            [str(i) for i in range(n)]
        total, right = int(cm.sum()), int(np.trace(cm))
        off = cm.copy()
        np.fill_diagonal(off, 0)
        i, j = np.unravel_index(np.argmax(off), off.shape)
        worst = f"; most confused: true {names[i]} predicted as {names[j]} " \
                f"({int(off[i, j])}×)" if off.max() > 0 else ""
        self.info.setText(f"{total} validation samples, {right} correct "
                          f"({100 * right / max(total, 1):.1f}%){worst}")
        self._changed()

    def changeEvent(self, event) -> None:
        """Another theme: the cells and counts in its colours."""
        if event.type() == QEvent.Type.PaletteChange:
            self._changed()
        super().changeEvent(event)

    def _render(self) -> None:
        cmap, on_low, on_high = shades()
        self.image.setColorMap(cmap)
        for t in self.texts:
            self.plot.removeItem(t)
        self.texts, self.text_px = [], 0
        cm = self.matrix
        if cm is None:
            self.image.clear()
            self.plot.getAxis("bottom").setTicks(None)
            self.plot.getAxis("left").setTicks(None)
            return
        n = len(cm)
        # colour by row-normalized rate so small classes are readable
        rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        self.image.setImage(rates.T, levels=(0, 1))
        for i in range(n):
            for j in range(n):
                if cm[i, j] == 0:
                    continue
                colour = on_high if rates[i, j] > 0.5 else on_low
                t = pg.TextItem(str(int(cm[i, j])), color=colour, anchor=(0.5, 0.5))
                t.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(t)
                self.texts.append(t)
        ticks = [[(k + 0.5, self.names[k]) for k in range(n)]]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0)
        self.fit_texts()

    def cell_size(self) -> tuple[float, float]:
        """A cell's width and height on screen, in pixels."""
        n = 0 if self.matrix is None or not self.built else len(self.matrix)
        box = self.plot.getViewBox().sceneBoundingRect() if n else None
        return (box.width() / n, box.height() / n) if n else (0.0, 0.0)

    def fit_texts(self) -> None:
        """Size the counts to the cells: as large as fits, hidden below MIN_TEXT_PX."""
        if not self.texts:
            return
        w, h = self.cell_size()
        digits = max(len(t.toPlainText()) for t in self.texts)
        px = int(min(h * 0.55, w * 0.8 / (0.62 * digits), MAX_TEXT_PX))
        self.text_px = px if px >= MIN_TEXT_PX else 0
        font = QFont()
        font.setPixelSize(max(px, 1))
        for t in self.texts:
            t.setFont(font)
            t.setVisible(bool(self.text_px))
