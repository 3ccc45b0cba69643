"""A port circle on a node: inputs on the left edge, outputs on the right edge."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from ..theme import canvas_colors


class PortItem(QGraphicsItem):
    """`highlight` is None, 'ok' (a wire may end here) or 'bad' (it may not)."""

    RADIUS = 5.5

    def __init__(self, node_id: str, port: str, is_output: bool, parent: QGraphicsItem):
        super().__init__(parent)
        self.node_id = node_id
        self.port = port
        self.is_output = is_output
        self.highlight: str | None = None
        self.connected = False
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self.setToolTip(f"{'output' if is_output else 'input'} '{port}'")

    def boundingRect(self) -> QRectF:
        r = self.RADIUS + 4  # a larger hit area than the drawn circle
        return QRectF(-r, -r, 2 * r, 2 * r)

    def scene_center(self) -> QPointF:
        return self.scenePos()

    def set_highlight(self, state: str | None) -> None:
        if state != self.highlight:
            self.highlight = state
            self.update()

    def hoverEnterEvent(self, event) -> None:
        if self.highlight is None:
            self.highlight = "hover"
            self.update()

    def hoverLeaveEvent(self, event) -> None:
        if self.highlight == "hover":
            self.highlight = None
            self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.3 and \
                self.highlight is None:
            return  # a dot under a pixel wide: zoomed far out
        c = canvas_colors()
        fill = QColor(c.node_body)
        border = QColor(c.wire)
        r = self.RADIUS
        if self.connected:
            fill = QColor(c.wire)
        if self.highlight == "ok":
            fill, border, r = QColor(c.port_ok), QColor(c.port_ok), r + 2
        elif self.highlight == "bad":
            fill, border, r = QColor(c.port_bad), QColor(c.port_bad), r + 2
        elif self.highlight == "hover":
            border, r = QColor(c.selection), r + 1.5
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(border, 1.6))
        painter.setBrush(QBrush(fill))
        painter.drawEllipse(QPointF(0, 0), r, r)
