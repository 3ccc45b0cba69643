"""The tensor shape written on a wire (e.g. "N×16×8×8"), on a small rounded plate."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
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


class ShapeLabelItem(QGraphicsItem):
    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._text = ""
        self.bad = False
        self._rect = QRectF()
        self.setZValue(1)

    def text(self) -> str:
        return self._text

    def set_text(self, text: str, bad: bool = False) -> None:
        if text == self._text and bad == self.bad:
            return
        self.prepareGeometryChange()
        self._text, self.bad = text, bad
        w = _text_width(text) + 8 if text else 0
        self._rect = QRectF(-w / 2, -9, w, 16)
        self.setVisible(bool(text))
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

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
