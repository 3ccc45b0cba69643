"""A square drawing pad: mouse strokes in white ink on black, kept as a high-resolution image
and averaged down to the model's input grid (8×8, 28×28). The brush is scaled to that grid:
about one input cell wide for 8×8 digits, two and a half for 28×28 (MNIST's pen width)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

RESOLUTION = 224          # the stroke image's side (a multiple of 8 and of 28)


def brush_cells(side: int) -> float:
    """The pen's width in input cells for a grid of `side` cells."""
    return 1.5 if side <= 12 else 2.5


class DrawPad(QWidget):
    """`grid` (H, W) in 0..1 (ink) after every stroke; `changed` while drawing."""

    changed = Signal()

    def __init__(self, side: int = 8, parent: QWidget | None = None):
        super().__init__(parent)
        self.side = side
        self.strokes = QImage(RESOLUTION, RESOLUTION, QImage.Format.Format_Grayscale8)
        self.strokes.fill(0)
        self._last: QPointF | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw with the left mouse button; Clear starts again.")

    def sizeHint(self) -> QSize:
        return QSize(300, 300)

    def set_side(self, side: int) -> None:
        self.side = side
        self.clear()

    def clear(self) -> None:
        self.strokes.fill(0)
        self.update()
        self.changed.emit()

    def grid(self) -> np.ndarray:
        """The drawing averaged onto the input grid: (side, side) in 0..1."""
        ptr = self.strokes.constBits()
        img = np.frombuffer(ptr, np.uint8, self.strokes.sizeInBytes()).reshape(
            RESOLUTION, self.strokes.bytesPerLine())[:, :RESOLUTION].astype(np.float32)
        edges = np.linspace(0, RESOLUTION, self.side + 1).round().astype(int)
        rows = np.add.reduceat(img, edges[:-1], axis=0) / np.diff(edges)[:, None]
        cells = np.add.reduceat(rows, edges[:-1], axis=1) / np.diff(edges)[None, :]
        return np.clip(cells / 255.0, 0.0, 1.0)

    # geometry ----------------------------------------------------------------------------
    def _square(self) -> tuple[float, float, float]:
        side = min(self.width(), self.height())
        return (self.width() - side) / 2, (self.height() - side) / 2, side

    def to_image(self, pos: QPointF) -> QPointF:
        x0, y0, side = self._square()
        return QPointF((pos.x() - x0) / side * RESOLUTION, (pos.y() - y0) / side * RESOLUTION)

    # drawing -----------------------------------------------------------------------------
    def _stroke(self, a: QPointF, b: QPointF) -> None:
        p = QPainter(self.strokes)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = RESOLUTION / self.side * brush_cells(self.side)
        p.setPen(QPen(QColor(255, 255, 255), width, Qt.PenStyle.SolidLine,
                      Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        p.drawLine(a, b)
        p.end()
        self.update()
        self.changed.emit()

    def mousePressEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self._last = self.to_image(ev.position())
            self._stroke(self._last, self._last)

    def mouseMoveEvent(self, ev) -> None:
        if self._last is not None and ev.buttons() & Qt.MouseButton.LeftButton:
            here = self.to_image(ev.position())
            self._stroke(self._last, here)
            self._last = here

    def mouseReleaseEvent(self, _ev) -> None:
        self._last = None

    def paintEvent(self, _event) -> None:
        x0, y0, side = self._square()
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        p.drawImage(QPointF(x0, y0), self.strokes.scaled(
            int(side), int(side), Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation))
        p.setPen(QPen(QColor(80, 80, 80), 0.5))      # the input grid, faintly
        step = side / self.side
        for k in range(1, self.side):
            p.drawLine(QPointF(x0 + k * step, y0), QPointF(x0 + k * step, y0 + side))
            p.drawLine(QPointF(x0, y0 + k * step), QPointF(x0 + side, y0 + k * step))
