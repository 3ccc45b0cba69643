"""A wire between an output port and an input port: a bezier curve with its shape label."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle

from engine.graph import Edge

from ..theme import canvas_colors
from .port_item import PortItem
from .shape_label import ShapeLabelItem

PICK_WIDTH = 10.0  # a wire can be clicked this far across (wider than any pen it is drawn with)
STUB = 28.0        # how far a backward wire runs out of a port before it turns
NODE_CLEAR = 60.0  # a backward wire between ports on one level passes this far below them


def wire_path(a: QPointF, b: QPointF) -> QPainterPath:
    """From a (output) to b (input): a horizontal-tangent cubic when b is to the right of a;
    else a wire that leaves a to the right, runs back between the two levels (or below them)
    and enters b from the left, never further out than STUB: a graph laid out in rows keeps
    its wires inside its frame instead of looping out of view and back."""
    if b.x() - a.x() >= 2 * STUB:
        path = QPainterPath(a)
        dx = max(abs(b.x() - a.x()) * 0.5, 40.0)
        path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b)
        return path
    return _backward_path(a, b)


def _backward_path(a: QPointF, b: QPointF) -> QPainterPath:
    if abs(b.y() - a.y()) >= 2 * NODE_CLEAR:
        mid = (a.y() + b.y()) / 2
    else:
        mid = max(a.y(), b.y()) + NODE_CLEAR
    right, left = a.x() + STUB, b.x() - STUB
    corners = [QPointF(right, a.y()), QPointF(right, mid), QPointF(left, mid),
               QPointF(left, b.y())]
    path = QPainterPath(a)
    points = [a, *corners, b]
    for prev, corner, nxt in zip(points, points[1:], points[2:]):
        r = min(12.0, _dist(prev, corner) / 2, _dist(corner, nxt) / 2)
        path.lineTo(_toward(corner, prev, r))
        path.quadTo(corner, _toward(corner, nxt, r))
    path.lineTo(b)
    return path


def _dist(p: QPointF, q: QPointF) -> float:
    return abs(p.x() - q.x()) + abs(p.y() - q.y())  # the segments are axis-aligned


def _toward(corner: QPointF, other: QPointF, r: float) -> QPointF:
    d = _dist(corner, other)
    if d == 0:
        return QPointF(corner)
    t = r / d
    return QPointF(corner.x() + (other.x() - corner.x()) * t,
                   corner.y() + (other.y() - corner.y()) * t)


class EdgeItem(QGraphicsPathItem):
    """`bad` wires (shape failed downstream, or unknown upstream) are drawn red."""

    def __init__(self, edge: Edge, src: PortItem, dst: PortItem):
        super().__init__()
        self.edge = edge
        self.src_port, self.dst_port = src, dst
        self.bad = False
        self.hovered = False
        self.heat: QColor | None = None  # gradient-norm tint while/after training
        self.norm: float | None = None
        self.source_name = ""
        self.label = ShapeLabelItem(self)
        self._bounds = QRectF()
        self.label_xy = (0.0, 0.0)   # where the label is, in scene coordinates
        self._pick: QPainterPath | None = None   # the clickable outline, made when needed
        self._pen = QPen()
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
        self.prepareGeometryChange()
        self._pick = None
        half = PICK_WIDTH / 2
        self._bounds = path.controlPointRect().adjusted(-half, -half, half, half)
        self.setPath(path)
        mid = path.pointAtPercent(0.5)
        self.label.setPos(mid.x(), mid.y() - 12)
        self.label_xy = (mid.x(), mid.y() - 12)   # the wire item itself stays at (0, 0)

    def set_shape(self, text: str, bad: bool) -> None:
        if text == self.label.text() and bad == self.bad:
            return
        self.label.set_text(text, bad)
        if bad != self.bad:
            self.bad = bad
            self._apply_pen()
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        tip = f"{self.edge.src_port} → {self.edge.dst_port}: {self.label.text()}"
        if self.norm is not None:
            tip += f"\ngradient norm of '{self.source_name}': {self.norm:.3g}"
        self.label.setToolTip(tip)
        self.setToolTip(tip)

    def set_hovered(self, on: bool) -> None:
        """Highlight while a node is dragged over this wire (drop to insert)."""
        if on != self.hovered:
            self.hovered = on
            self._apply_pen()

    def set_heat(self, color: QColor | None, norm: float | None = None,
                 source_name: str = "") -> None:
        """Tint the wire by the gradient norm of its source node (shown in the tooltip);
        None restores the colour."""
        if norm != self.norm or source_name != self.source_name:
            self.norm, self.source_name = (norm, source_name) if color is not None else \
                (None, "")
            self._update_tooltip()
        if color != self.heat:
            self.heat = color
            self._apply_pen()

    def restyle(self) -> None:
        """Take the current theme's colours."""
        self._apply_pen()
        self.label.update()

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

    def setPen(self, pen: QPen) -> None:
        """A new colour or width is a repaint, not a geometry change (Qt's own setPen is one:
        turning a thousand wires red would rebuild the scene index in the next frame); the
        bounding rect leaves room for any pen (see update_path)."""
        if pen != self._pen:
            self._pen = QPen(pen)
            self.update()

    def pen(self) -> QPen:
        return QPen(self._pen)

    def paint(self, painter, option, widget=None) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected != getattr(self, "_drawn_selected", False):
            self._drawn_selected = selected
            self._apply_pen()
        painter.setPen(self._pen)   # no dashed selection box: the pen shows it
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())

    def boundingRect(self) -> QRectF:
        """The path's control points with room for the pen and the click outline (Qt's own
        computes the outline's stroke each time the scene asks: costly on big graphs)."""
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._pick is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(PICK_WIDTH)
            self._pick = stroker.createStroke(self.path())
        return self._pick
