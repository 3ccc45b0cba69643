"""The tensor shape written on a wire (e.g. "N×16×8×8"), on a small rounded plate.

Its bounding box only grows, by steps: a new shape of about the same width (an edit on a big
graph changes hundreds of them) repaints the label without a geometry change, so Qt's scene
index is not rebuilt for it in the next frame. Clicks and tooltips use the plate itself
(`shape`)."""
from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from ..theme import canvas_colors


def label_font() -> QFont:
    font = QFont()
    font.setPixelSize(11)
    return font


@lru_cache(maxsize=4096)
def _text_width(text: str) -> float:
    """Width of a label's text (a 1,000-node graph has a few distinct shapes, not 1,333)."""
    return QFontMetricsF(label_font()).horizontalAdvance(text)


GROW_STEP = 12.0   # the bounding box's half width grows by multiples of this


class ShapeLabelItem(QGraphicsItem):
    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._text = ""
        self.bad = False
        self._rect = QRectF()     # the plate
        self._bounds = QRectF()   # the plate's room: see the module's doc
        self.setZValue(1)

    def text(self) -> str:
        return self._text

    def set_text(self, text: str, bad: bool = False) -> None:
        if text == self._text and bad == self.bad:
            return
        w = _text_width(text) + 8 if text else 0
        if w / 2 > -self._bounds.left():
            self.prepareGeometryChange()
            half = math.ceil(w / 2 / GROW_STEP) * GROW_STEP
            self._bounds = QRectF(-half, -9, 2 * half, 16)
        self._text, self.bad = text, bad
        self._rect = QRectF(-w / 2, -9, w, 16)
        self.setVisible(bool(text))
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self._rect)
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.4:
            return  # unreadably small: zoomed far out
        c = canvas_colors()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        edge = QColor(c.wire_bad if self.bad else c.node_border)
        painter.setPen(QPen(edge, 1))
        painter.setBrush(QBrush(QColor(c.label_bg)))
        painter.drawRoundedRect(self._rect, 7, 7)
        painter.setFont(label_font())
        painter.setPen(QColor(c.wire_bad if self.bad else c.label_text))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self._text)
