"""The canvas coloured by an architecture diff: a green halo around added nodes, an amber
one around changed nodes (with what changed under them), ghosts of removed nodes at their old
places, added wires traced in green and removed wires dashed. Items are owned by this overlay,
never by the document: clearing it leaves the canvas as it was."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
)

from engine.diff import GraphDiff
from engine.graph import Graph

from ..canvas.node_item import WIDTH

ADDED = QColor("#2fa84f")
CHANGED = QColor("#e0a100")
REMOVED = QColor("#8a95a3")
GHOST_HEIGHT = 58.0


class CompareOverlay:
    def __init__(self, scene):
        self.scene = scene
        self.items: list[QGraphicsItem] = []
        self.halos: dict[str, QGraphicsPathItem] = {}     # current node id -> halo
        self.ghosts: dict[str, QGraphicsRectItem] = {}    # other graph's node id -> ghost

    def clear(self) -> None:
        for item in self.items:
            if item.scene() is not None:
                item.scene().removeItem(item)
        self.items, self.halos, self.ghosts = [], {}, {}

    def show(self, diff: GraphDiff, other: Graph) -> None:
        self.clear()
        for change in diff.nodes:
            if change.kind == "removed":
                self._ghost(other, change.node_id)
            else:
                self._halo(change.node_id, ADDED if change.kind == "added" else CHANGED,
                           change.describe() if change.kind == "changed" else "")
        for wire in diff.wires:
            if wire.kind == "added":
                self._added_wire(wire)
            else:
                self._removed_wire(other, wire)

    def colour_of(self, node_id: str) -> QColor | None:
        halo = self.halos.get(node_id)
        return halo.pen().color() if halo is not None else None

    # -- items ---------------------------------------------------------------------------------
    def _keep(self, item: QGraphicsItem, parent=None) -> QGraphicsItem:
        if parent is None:
            self.scene.addItem(item)
        self.items.append(item)
        return item

    def _halo(self, node_id: str, colour: QColor, text: str) -> None:
        node_item = self.scene.nodes.get(node_id)
        if node_item is None:
            return
        rect = node_item.body_rect().adjusted(-6, -6, 6, 6)
        path = QPainterPath()
        path.addRoundedRect(rect, 11, 11)
        halo = QGraphicsPathItem(path, node_item)
        halo.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        halo.setPen(QPen(colour, 3.5))
        fill = QColor(colour)
        fill.setAlpha(55)
        halo.setBrush(QBrush(fill))
        halo.setToolTip(text or "added")
        self.halos[node_id] = self._keep(halo, node_item)
        if text:
            label = QGraphicsSimpleTextItem(_elide(text, 34), node_item)
            font = QFont()
            font.setPixelSize(10)
            label.setFont(font)
            label.setBrush(QBrush(colour.darker(135)))
            label.setPos(0, rect.bottom() + 2)
            self._keep(label, node_item)

    def _ghost(self, other: Graph, node_id: str) -> None:
        node = other.nodes[node_id]
        x, y = node.pos
        ghost = QGraphicsRectItem(QRectF(0, 0, WIDTH, GHOST_HEIGHT))
        ghost.setPos(x, y)
        pen = QPen(REMOVED, 1.6, Qt.PenStyle.DashLine)
        ghost.setPen(pen)
        fill = QColor(REMOVED)
        fill.setAlpha(40)
        ghost.setBrush(QBrush(fill))
        ghost.setOpacity(0.75)
        ghost.setZValue(-1)
        ghost.setToolTip(f"removed: {node.name} ({node.spec.name})")
        title = QGraphicsSimpleTextItem(f"− {node.spec.name}", ghost)
        title.setBrush(QBrush(REMOVED.darker(150)))
        title.setPos(8, 4)
        name = QGraphicsSimpleTextItem(_elide(node.name, 16), ghost)
        name.setBrush(QBrush(REMOVED.darker(150)))
        name.setPos(8, 24)
        self.ghosts[node_id] = self._keep(ghost)

    def _added_wire(self, wire) -> None:
        for edge, item in self.scene.edges.items():
            if (edge.src, edge.src_port, edge.dst, edge.dst_port) == \
                    (wire.src_id, wire.src_port, wire.dst_id, wire.dst_port):
                trace = QGraphicsPathItem(item.path(), item)
                trace.setPen(QPen(ADDED, 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
                trace.setOpacity(0.55)
                trace.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
                self._keep(trace, item)
                return

    def _removed_wire(self, other: Graph, wire) -> None:
        a = self._anchor(other, wire.src_id, wire.src, True)
        b = self._anchor(other, wire.dst_id, wire.dst, False)
        if a is None or b is None:
            return
        path = QPainterPath(a)
        dx = max(40.0, abs(b.x() - a.x()) / 2)
        path.cubicTo(a + QPointF(dx, 0), b - QPointF(dx, 0), b)
        item = QGraphicsPathItem(path)
        item.setPen(QPen(REMOVED, 1.6, Qt.PenStyle.DashLine))
        item.setZValue(-1)
        item.setToolTip(f"removed wire {wire.describe()}")
        self._keep(item)

    def _anchor(self, other: Graph, old_id: str, name: str, output: bool) -> QPointF | None:
        """Where a removed wire ends: at its ghost, or at the node if it is still there."""
        ghost = self.ghosts.get(old_id)
        if ghost is not None:
            p = ghost.pos()
            return QPointF(p.x() + (WIDTH if output else 0), p.y() + 42)
        for item in self.scene.nodes.values():
            if item.node.name == name:
                r = item.sceneBoundingRect()
                return QPointF(r.right() - 2 if output else r.left() + 2, r.top() + 44)
        node = other.nodes.get(old_id)
        return QPointF(node.pos[0] + (WIDTH if output else 0), node.pos[1] + 42) \
            if node else None


def _elide(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"
