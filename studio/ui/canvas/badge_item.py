"""The red (error) or amber (warning) badge on a node. Two sources share it: validation
(`set_messages`: the report's errors or warnings) and training health (`set_health`: a dead
ReLU layer, vanishing gradients, ...). Red wins; the tooltip lists every message."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from ..theme import canvas_colors


class BadgeItem(QGraphicsItem):
    SIZE = 18.0

    def __init__(self, parent: QGraphicsItem):
        super().__init__(parent)
        self.severity = "error"
        self.messages: list[str] = []      # validation
        self.health: list[str] = []        # training health warnings
        self._validation_severity = "error"
        self.setZValue(3)
        self.setVisible(False)

    def boundingRect(self) -> QRectF:
        s = self.SIZE
        return QRectF(-s / 2, -s / 2, s, s)

    def set_messages(self, messages: list[str], severity: str) -> None:
        if messages == self.messages and severity == self._validation_severity:
            return
        self.messages = list(messages)
        self._validation_severity = severity
        self._refresh()

    def set_health(self, messages: list[str]) -> None:
        if messages == self.health:
            return
        self.health = list(messages)
        self._refresh()

    def _refresh(self) -> None:
        error = bool(self.messages) and self._validation_severity == "error"
        self.severity = "error" if error else "warning"
        shown = self.messages + self.health
        self.setToolTip("\n".join(shown))
        self.setVisible(bool(shown))
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        c = canvas_colors()
        color = QColor(c.badge_error if self.severity == "error" else c.badge_warning)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("#ffffff"), 1.5))
        painter.setBrush(QBrush(color))
        painter.drawEllipse(QPointF(0, 0), self.SIZE / 2, self.SIZE / 2)
        f = QFont(painter.font())
        f.setBold(True)
        f.setPixelSize(12)
        painter.setFont(f)
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, "!")
