"""A wire between an output port and an input port: a bezier curve with its shape label."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle

from engine.graph import Edge

from ..theme import canvas_colors
from .port_item import PortItem
from .shape_label import ShapeLabelItem


def wire_path(a: QPointF, b: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic from a (output) to b (input)."""
    path = QPainterPath(a)
    dx = max(abs(b.x() - a.x()) * 0.5, 40.0)
    path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b)
    return path


class EdgeItem(QGraphicsPathItem):
    """`bad` wires (shape failed downstream, or unknown upstream) are drawn red."""

    def __init__(self, edge: Edge, src: PortItem, dst: PortItem):
        super().__init__()
        self.edge = edge
        self.src_port, self.dst_port = src, dst
        self.bad = False
        self.hovered = False
        self.heat: QColor | None = None  # gradient-norm tint while/after training
        self.label = ShapeLabelItem(self)
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self._apply_pen()
        self.update_path()

    def set_ports(self, src: PortItem, dst: PortItem) -> None:
        self.src_port, self.dst_port = src, dst
        self.update_path()

    def update_path(self) -> None:
        a, b = self.src_port.scenePos(), self.dst_port.scenePos()
        path = wire_path(a, b)
        self.setPath(path)
        mid = path.pointAtPercent(0.5)
        self.label.setPos(mid.x(), mid.y() - 12)

    def set_shape(self, text: str, bad: bool) -> None:
        if text == self.label.text() and bad == self.bad:
            return
        self.label.set_text(text, bad)
        self.label.setToolTip(f"{self.edge.src_port} → {self.edge.dst_port}: {text}")
        if bad != self.bad:
            self.bad = bad
            self._apply_pen()

    def set_hovered(self, on: bool) -> None:
        """Highlight while a node is dragged over this wire (drop to insert)."""
        if on != self.hovered:
            self.hovered = on
            self._apply_pen()

    def set_heat(self, color: QColor | None) -> None:
        """Tint the wire (the gradient norm of its source node); None restores the colour."""
        if color != self.heat:
            self.heat = color
            self._apply_pen()

    def _apply_pen(self) -> None:
        c = canvas_colors()
        color = QColor(c.wire_bad if self.bad else c.wire)
        width = 2.0
        if self.heat is not None and not self.bad:
            color, width = QColor(self.heat), 3.0
        if self.isSelected() or self.hovered:
            color, width = QColor(c.selection), 3.0
        pen = QPen(color, width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)

    def paint(self, painter, option, widget=None) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected != getattr(self, "_drawn_selected", False):
            self._drawn_selected = selected
            self._apply_pen()
        option.state &= ~QStyle.StateFlag.State_Selected  # no dashed selection box
        super().paint(painter, option, widget)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())
