"""A grid of numbers, each cell coloured by its value (blue below zero, red above, white at
zero), with an outlined region (a receptive field) and one marked cell (the max that won).
Small grids print their numbers; large ones (a 28×28 input) are colour only, with the exact
value in a tooltip."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

PAD_COLOR = QColor("#c9ccd1")
OUTLINE = QColor("#ff8a00")
MARK = QColor("#00a651")


def fmt(v: float) -> str:
    """A number for a cell: 3 significant digits at most, short enough for a 44 px cell."""
    if not np.isfinite(v):
        return "pad"
    a = abs(v)
    text = f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no -0.00


def value_color(v: float, scale: float) -> QColor:
    """Diverging colour: white at 0, red for positive, blue for negative values."""
    if not np.isfinite(v):
        return PAD_COLOR
    t = min(1.0, abs(v) / scale) if scale > 0 else 0.0
    target = (214, 39, 40) if v > 0 else (31, 119, 180)
    r, g, b = (round(255 + (c - 255) * t) for c in target)
    return QColor(r, g, b)


class NumberGrid(QWidget):
    """`set_values(2-D array, outline=mask, mark=(row, col))`. `cell_clicked(row, col)`."""

    cell_clicked = Signal(int, int)
    NUMBERS_FROM = 26        # cells at least this wide print their number

    def __init__(self, title: str = "", max_cell: int = 46, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.max_cell = max_cell
        self.values = np.zeros((0, 0))
        self.outline: np.ndarray | None = None
        self.mark: tuple[int, int] | None = None
        self.pad: np.ndarray | None = None
        self.scale = 1.0
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)

    def set_values(self, values, outline=None, mark=None, scale: float | None = None,
                   pad=None) -> None:
        """`outline`: a bool mask of cells to outline; `mark`: one (row, col) to mark;
        `pad`: a bool mask of cells drawn grey (zero padding: their number still shows)."""
        self.values = np.atleast_2d(np.asarray(values, np.float64))
        self.pad = None if pad is None else np.asarray(pad, bool)
        self.outline = None if outline is None else np.asarray(outline, bool)
        self.mark = mark
        finite = self.values[np.isfinite(self.values)]
        self.scale = scale if scale else (float(np.abs(finite).max()) if finite.size else 1.0)
        self.updateGeometry()
        self.update()

    def texts(self) -> list[list[str]]:
        """The numbers as the cells print them (row by row)."""
        return [[fmt(v) for v in row] for row in self.values]

    # geometry ------------------------------------------------------------------------------
    def _title_h(self) -> int:
        return self.fontMetrics().height() + 4 if self.title else 0

    def cell(self) -> float:
        rows, cols = self.values.shape if self.values.size else (1, 1)
        w, h = self.width() - 2, self.height() - 2 - self._title_h()
        return max(2.0, min(self.max_cell, w / cols, h / rows))

    def sizeHint(self) -> QSize:
        rows, cols = self.values.shape if self.values.size else (1, 1)
        c = min(self.max_cell, max(10, 330 // max(rows, cols, 1)))
        return QSize(int(cols * c) + 2, int(rows * c) + 2 + self._title_h())

    def minimumSizeHint(self) -> QSize:
        rows, cols = self.values.shape if self.values.size else (1, 1)
        return QSize(min(160, cols * 8), min(160, rows * 8) + self._title_h())

    def _origin(self) -> QPointF:
        cols = self.values.shape[1]
        c = self.cell()
        return QPointF(max(1.0, (self.width() - cols * c) / 2), 1 + self._title_h())

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        if not self.values.size:
            return None
        o, c = self._origin(), self.cell()
        r, q = int((pos.y() - o.y()) // c), int((pos.x() - o.x()) // c)
        rows, cols = self.values.shape
        return (r, q) if 0 <= r < rows and 0 <= q < cols else None

    # painting ------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if self.title:
            p.setPen(self.palette().windowText().color())
            p.drawText(QRectF(0, 0, self.width(), self._title_h()),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self.title)
        if not self.values.size:
            return
        o, c = self._origin(), self.cell()
        numbers = c >= self.NUMBERS_FROM
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, min(9.0, c / 4.6)))
        p.setFont(font)
        grid_pen = QPen(QColor("#9aa0a8"), 0.5)
        for (r, q), v in np.ndenumerate(self.values):
            rect = QRectF(o.x() + q * c, o.y() + r * c, c, c)
            padded = self.pad is not None and self.pad[r, q]
            color = PAD_COLOR if padded else value_color(v, self.scale)
            p.fillRect(rect, color)
            if numbers:
                p.setPen(grid_pen)
                p.drawRect(rect)
                p.setPen(QColor("#000000") if color.lightness() > 120 else QColor("#ffffff"))
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, fmt(v))
        if self.outline is not None and self.outline.any():
            p.setPen(QPen(OUTLINE, 3))
            for (r, q) in zip(*np.nonzero(self.outline)):
                self._edges(p, r, q, o, c)
        if self.mark is not None:
            r, q = self.mark
            p.setPen(QPen(MARK, 3))
            p.drawRect(QRectF(o.x() + q * c + 1.5, o.y() + r * c + 1.5, c - 3, c - 3))

    def _edges(self, p: QPainter, r: int, q: int, o: QPointF, c: float) -> None:
        """The outline's border: the cell sides that face a cell outside the region."""
        m, (rows, cols) = self.outline, self.outline.shape
        x0, y0 = o.x() + q * c, o.y() + r * c
        if r == 0 or not m[r - 1, q]:
            p.drawLine(QPointF(x0, y0), QPointF(x0 + c, y0))
        if r == rows - 1 or not m[r + 1, q]:
            p.drawLine(QPointF(x0, y0 + c), QPointF(x0 + c, y0 + c))
        if q == 0 or not m[r, q - 1]:
            p.drawLine(QPointF(x0, y0), QPointF(x0, y0 + c))
        if q == cols - 1 or not m[r, q + 1]:
            p.drawLine(QPointF(x0 + c, y0), QPointF(x0 + c, y0 + c))

    # interaction ---------------------------------------------------------------------------
    def event(self, ev) -> bool:
        if ev.type() == QEvent.Type.ToolTip:
            at = self.cell_at(QPointF(ev.pos()))
            if at is not None:
                v = self.values[at]
                QToolTip.showText(ev.globalPos(), f"row {at[0] + 1}, column {at[1] + 1}: "
                                  f"{v:.6g}" if np.isfinite(v) else "zero padding", self)
            else:
                QToolTip.hideText()
            return True
        return super().event(ev)

    def mousePressEvent(self, ev) -> None:
        at = self.cell_at(ev.position())
        if at is not None:
            self.cell_clicked.emit(*at)
        super().mousePressEvent(ev)
