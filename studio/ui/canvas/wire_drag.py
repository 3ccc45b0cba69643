"""Dragging a new wire from a port: a temporary curve, hover feedback on the port under the
cursor (green = may connect, red = refused, with the reason), and the Connect command."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from engine.graph import Graph

from ...commands import ConnectCommand, cycle_names
from ..theme import canvas_colors
from .edge_item import wire_path
from .port_item import PortItem


def link_problem(graph: Graph, src: str, src_port: str, dst: str, dst_port: str) -> str | None:
    """Why a wire src.src_port -> dst.dst_port may not be made, or None if it may."""
    s, d = graph.nodes.get(src), graph.nodes.get(dst)
    if s is None or d is None:
        return "the node no longer exists"
    if src == dst:
        return f"cannot connect '{s.name}' to itself"
    taken = graph.edge_into(dst, dst_port)
    if taken is not None:
        other = graph.nodes[taken.src].name
        return (f"input '{dst_port}' of '{d.name}' is already connected to '{other}': "
                "delete that wire first")
    if graph.would_create_cycle(src, dst):
        return f"this wire would close a cycle: {cycle_names(graph, src, dst)}"
    return None


class WireDrag:
    """One wire being dragged; `start` is the port the drag began on (output or input)."""

    def __init__(self, scene, start: PortItem):
        self.scene = scene
        self.start = start
        self.target: PortItem | None = None
        self.problem: str | None = None
        self.path_item = QGraphicsPathItem()
        pen = QPen(QColor(canvas_colors().selection), 2, Qt.PenStyle.DashLine)
        self.path_item.setPen(pen)
        self.path_item.setZValue(5)
        scene.addItem(self.path_item)
        start.set_highlight("ok")

    def _endpoints(self, port: PortItem) -> tuple[str, str, str, str]:
        a, b = (self.start, port) if self.start.is_output else (port, self.start)
        return a.node_id, a.port, b.node_id, b.port

    def move(self, scene_pos: QPointF, port: PortItem | None) -> str | None:
        """Update the curve and the hover feedback; returns the refusal reason, if any."""
        if self.target is not None and self.target is not port:
            self.target.set_highlight(None)
        self.target, self.problem = None, None
        end = scene_pos
        if port is not None and port is not self.start:
            if port.is_output == self.start.is_output:
                self.problem = "connect an output port to an input port"
            else:
                self.problem = link_problem(self.scene.document.graph, *self._endpoints(port))
            self.target = port
            port.set_highlight("bad" if self.problem else "ok")
            end = port.scenePos()
        a, b = (self.start.scenePos(), end) if self.start.is_output else \
            (end, self.start.scenePos())
        self.path_item.setPath(wire_path(a, b))
        return self.problem

    def finish(self) -> tuple[bool, str | None]:
        """Connect if the drag ended on a legal port. Returns (connected, message)."""
        target, problem = self.target, self.problem
        self.cancel()
        if target is None:
            return False, None
        if problem:
            return False, problem
        doc = self.scene.document
        ok = doc.try_push(ConnectCommand(doc.graph, *self._endpoints(target)))
        return ok, None

    def cancel(self) -> None:
        if self.target is not None:
            self.target.set_highlight(None)
        self.start.set_highlight(None)
        if self.path_item.scene() is not None:
            self.scene.removeItem(self.path_item)
