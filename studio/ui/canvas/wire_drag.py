"""Dragging a new wire from a port: a temporary curve, hover feedback on the port under the
cursor (green = may connect, red = refused, with the reason), and the Connect command."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from engine.graph import Edge, Graph

from ...commands import ConnectCommand, DisconnectCommand, MacroCommand, cycle_names
from ..theme import canvas_colors
from .edge_item import wire_path
from .port_item import PortItem


def link_problem(graph: Graph, src: str, src_port: str, dst: str, dst_port: str,
                 replacing: Edge | None = None) -> str | None:
    """Why a wire src.src_port -> dst.dst_port may not be made, or None if it may
    (`replacing` is a wire being re-routed: its input counts as free)."""
    s, d = graph.nodes.get(src), graph.nodes.get(dst)
    if s is None or d is None:
        return "the node no longer exists"
    if src == dst:
        return f"cannot connect '{s.name}' to itself"
    taken = graph.edge_into(dst, dst_port)
    if taken is not None and taken != replacing:
        other = graph.nodes[taken.src].name
        return (f"input '{dst_port}' of '{d.name}' is already connected to '{other}': "
                "delete that wire first")
    if graph.would_create_cycle(src, dst):
        return f"this wire would close a cycle: {cycle_names(graph, src, dst)}"
    return None


class WireDrag:
    """One wire being dragged; `start` is the port the drag began on (output or input).
    With `detach`, an existing wire was picked up by its input end: dropping it on another
    input re-routes it, dropping it on empty canvas deletes it."""

    def __init__(self, scene, start: PortItem, detach: Edge | None = None):
        self.scene = scene
        self.start = start
        self.detach = detach
        self._hidden = scene.edges.get(detach) if detach is not None else None
        if self._hidden is not None:
            self._hidden.setVisible(False)
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
                self.problem = link_problem(self.scene.document.edit_graph, *self._endpoints(port),
                                            replacing=self.detach)
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
        doc = self.scene.document
        if self.detach is not None:
            return self._finish_detached(target, problem)
        if target is None:
            return False, None
        if problem:
            return False, problem
        ok = doc.try_push(ConnectCommand(doc.edit_graph, *self._endpoints(target)))
        return ok, None

    def _finish_detached(self, target: PortItem | None, problem: str | None):
        doc, old = self.scene.document, self.detach
        if target is None:
            return doc.try_push(DisconnectCommand(doc.edit_graph, old)), "wire removed"
        if problem:
            return False, problem
        new = Edge(*self._endpoints(target))
        if new == old:
            return False, None
        macro = MacroCommand(doc.edit_graph, "Re-route wire")
        macro.add(DisconnectCommand(doc.edit_graph, old))
        macro.add(ConnectCommand(doc.edit_graph, *self._endpoints(target)))
        return doc.try_push(macro), None

    def cancel(self) -> None:
        if self._hidden is not None and self._hidden.scene() is not None:
            self._hidden.setVisible(True)
        if self.target is not None:
            self.target.set_highlight(None)
        self.start.set_highlight(None)
        if self.path_item.scene() is not None:
            self.scene.removeItem(self.path_item)
