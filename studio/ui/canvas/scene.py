"""The graph scene: a view of the document. Items are created, updated and removed from the
Graph's events and the validation report; user edits go back as undo commands."""
from __future__ import annotations

import itertools
import math

from PySide6.QtCore import QLineF, QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene

from engine.graph import Edge, Graph, GraphEvent
from engine.validate import Report

from ...commands import MoveNodesCommand
from ...document import Document
from ..theme import canvas_colors
from .edge_item import EdgeItem
from .node_item import NodeItem

GRID = 20.0
NODE_REACH = 300.0   # a node card at (x, y) may be in view when (x + this, y + this) is


class GraphScene(QGraphicsScene):
    """Signals: rename_requested(node_id) on a node double-click; selection_ids(list)."""

    rename_requested = Signal(str)
    enter_requested = Signal(str)  # a block instance was double-clicked
    selection_ids = Signal(list)

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self._node_edges: dict[str, set[EdgeItem]] = {}  # node id -> its wires' items
        self._all_rect: QRectF | None = None  # cached bounding rect of all nodes
        #: bumped when a node item is added, removed, moved or resized (the mini-map redraws)
        self.layout_version = 0
        self._grow_timer = QTimer(self, singleShot=True, interval=0)
        self._grow_timer.timeout.connect(self.grow_now)
        self._pending: dict[str, None] = {}   # node ids to look at later: see apply_report
        self._in_view_key: tuple | None = None   # see _nodes_in_view
        self._in_view_ids: set[str] = set()
        self.snap_to_grid = True
        self._graph: Graph | None = None
        self._unsubscribe = None
        self._syncing_selection = False
        self.report: Report | None = None
        self._applied_version: int | None = None   # of self.report, all items up to date
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        document.scope_changed.connect(self.rebuild)
        document.edit_validated.connect(self.apply_report)
        document.in_view = self._nodes_in_view   # validated first after an edit
        document.selection_changed.connect(self.select_ids)
        self.selectionChanged.connect(self._on_selection)
        self.rebuild(document.edit_graph)
        self.apply_report(document.edit_report())

    # building from the graph ---------------------------------------------------------------
    def rebuild(self, graph: Graph | None = None) -> None:
        graph = graph or self.document.edit_graph
        if self._unsubscribe:
            self._unsubscribe()
        self._graph = graph
        self._layout_changed()
        self.nodes.clear()  # before clear(): signals fired while clearing must not see them
        self.edges.clear()
        self._pending.clear()
        self._node_edges.clear()
        self.clear()
        for node in graph.nodes.values():
            self._add_node(node.id)
        for edge in graph.edges:
            self._add_edge(edge)
        self._unsubscribe = graph.subscribe(self._on_event)
        self.grow_now()

    def _add_node(self, node_id: str) -> NodeItem:
        self._applied_version = None   # a new item: the next report is applied in full
        item = NodeItem(self._graph.nodes[node_id])
        self.addItem(item)
        self.nodes[node_id] = item
        return item

    def _add_edge(self, edge: Edge) -> EdgeItem | None:
        src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
        if src is None or dst is None:
            return None
        sp, dp = src.port(edge.src_port, True), dst.port(edge.dst_port, False)
        if sp is None or dp is None:  # a port that a param edit removed: the wire is ignored
            return None
        item = EdgeItem(edge, sp, dp)
        self._applied_version = None
        self.addItem(item)
        self.edges[edge] = item
        self._node_edges.setdefault(edge.src, set()).add(item)
        self._node_edges.setdefault(edge.dst, set()).add(item)
        sp.connected = dp.connected = True
        return item

    def _remove_edge(self, edge: Edge) -> None:
        item = self.edges.pop(edge, None)
        if item is not None:
            for nid in (edge.src, edge.dst):
                self._node_edges.get(nid, set()).discard(item)
            self.removeItem(item)
            self._mark_connected(item.dst_port)
            self._mark_connected(item.src_port)

    def _mark_connected(self, port) -> None:
        port.connected = any(e.src_port is port or e.dst_port is port
                             for e in self._node_edges.get(port.node_id, ()))
        port.update()

    def _on_event(self, ev: GraphEvent) -> None:
        kind = ev.kind
        if kind in ("node_added", "node_removed", "node_moved", "reset"):
            self._layout_changed()
        if kind == "node_added":
            self._add_node(ev.node_id)
            self._grow_rect()
        elif kind == "node_removed":
            item = self.nodes.pop(ev.node_id, None)
            self._node_edges.pop(ev.node_id, None)
            if item is not None:
                self.removeItem(item)
        elif kind == "edge_added":
            self._add_edge(ev.edge)
        elif kind == "edge_removed":
            self._remove_edge(ev.edge)
        elif kind == "node_moved":
            item = self.nodes.get(ev.node_id)
            if item is not None and (item.pos().x(), item.pos().y()) != tuple(ev.new):
                self.place(item, QPointF(*ev.new))
            self._grow_rect()
        elif kind in ("param_changed", "node_renamed", "trainable_changed"):
            item = self.nodes.get(ev.node_id)
            if item is not None:
                before = item.sceneBoundingRect()
                item.refresh()
                if item.sceneBoundingRect() != before:   # more rows of params or ports
                    self._layout_changed()
        elif kind == "reset":
            if ev.node_id and ev.node_id in self.nodes:
                self._reset_node(ev.node_id)
            else:
                self.rebuild(self._graph)

    def _layout_changed(self) -> None:
        self._all_rect = None
        self.layout_version += 1

    def _reset_node(self, node_id: str) -> None:
        """Ports of a node changed (e.g. Concatenate's number of inputs): redo its wires."""
        item = self.nodes[node_id]
        for e_item in list(self._node_edges.get(node_id, ())):
            self._remove_edge(e_item.edge)
        item.refresh()
        for edge in self._graph.edges:
            if node_id in (edge.src, edge.dst) and edge not in self.edges:
                self._add_edge(edge)

    def _grow_rect(self) -> None:
        """Grow the scene rect around the nodes (coalesced: many events, one update)."""
        if not self._grow_timer.isActive():
            self._grow_timer.start()

    def grow_now(self) -> None:
        self._grow_timer.stop()
        rect = self.nodes_rect().adjusted(-2000, -2000, 2000, 2000)
        self.setSceneRect(self.sceneRect().united(rect))

    # validation ---------------------------------------------------------------------------
    EAGER_NODES = 150   # at most this many nodes in view (with their wires) at once ...
    BATCH_NODES = 60    # ... and the others this many per later turn of the event loop

    def apply_report(self, report: Report) -> None:
        """Shape labels on every wire, red wires where inference failed, node badges. After
        a param edit only the nodes whose result changed (`Report.changed`) and their wires
        are looked at, and only wires whose label or colour changed are touched. When there
        are many, those in view are done now (at most EAGER_NODES nodes) and the rest in
        batches of BATCH_NODES on the next turns of the event loop, against the report of
        that time: an edit at the head of a 1,000-node graph shows within a frame."""
        follows = report is self.report and report.changed is not None and \
            self._applied_version is not None and report.version == self._applied_version + 1
        self.report = report
        self._applied_version = report.version
        pending = self._pending
        if follows:
            pending.update(dict.fromkeys(report.changed))
        else:
            pending.clear()
            pending.update(dict.fromkeys(self.nodes))
        if len(pending) > self.BATCH_NODES and self.views():
            now = self._in_view(pending)
        else:
            now = list(pending)
        self._apply_nodes(now)
        if pending:
            self.document.later(self._apply_pending_labels)

    def labels_pending(self) -> bool:
        """Whether some nodes' badges or wire labels are still to be brought up to date."""
        return bool(self._pending)

    def _in_view(self, node_ids) -> list[str]:
        """Of `node_ids`, those (at most EAGER_NODES) whose card is in view or near it (their
        wires' labels with them)."""
        shown = self._nodes_in_view()
        return [nid for nid in node_ids if nid in shown][:self.EAGER_NODES]

    def _nodes_in_view(self) -> set[str]:
        """The nodes whose card is in view or near it: plain comparisons of the node
        positions kept on the Python side (the scene's index would first take in every
        label that changed size; a long wire whose label alone is in view waits for its
        batch). Kept while the layout and the part in view are the same (edit after edit)."""
        rects = self._visible_rects()
        key = (self.layout_version, tuple(r.getRect() for r in rects))
        if key != self._in_view_key:
            shown: set[str] = set()
            for r in rects:
                left, top = r.left() - NODE_REACH, r.top() - NODE_REACH
                right, bottom = r.right(), r.bottom()
                shown.update(nid for nid, node in self._graph.nodes.items()
                             if left <= node.pos[0] <= right and top <= node.pos[1] <= bottom)
            self._in_view_key, self._in_view_ids = key, shown
        return self._in_view_ids

    def _apply_nodes(self, node_ids) -> None:
        """Bring these nodes' badges and their wires' labels up to the current report."""
        report, pending = self.report, self._pending
        items: dict[EdgeItem, None] = {}
        for nid in node_ids:
            pending.pop(nid, None)
            node_item = self.nodes.get(nid)
            if node_item is None:   # removed meanwhile
                continue
            items.update(dict.fromkeys(self._node_edges.get(nid, ())))
            issues = report.issues_for(nid)
            errors = [i.message for i in issues if i.severity == "error"]
            warnings = [i.message for i in issues if i.severity != "error"]
            node_item.set_issues(errors or warnings, "error" if errors else "warning")
        self._show_labels(items)

    def _show_labels(self, items) -> None:
        """Set each wire item's label and colour from the current report (only those that
        differ are touched)."""
        report, g = self.report, self._graph
        texts: dict[str, dict[str, str]] = {}   # per source node: output port -> label
        for item in items:
            edge = item.edge
            by_port = texts.get(edge.src)
            if by_port is None:
                types = report.out_types.get(edge.src) if edge.src in g.nodes else None
                ports = g.nodes[edge.src].output_ports() if types else ()
                by_port = texts[edge.src] = {p: str(t) for p, t in zip(ports, types or ())}
            text = by_port.get(edge.src_port)
            issues = report.issues_for(edge.dst)
            bad = text is None or (bool(issues) and any(
                i.kind in ("shape", "cycle", "port") and i.port in (None, edge.dst_port)
                for i in issues))
            text = text or "?"
            if text != item.label.text() or bad != item.bad:
                item.set_shape(text, bad)

    def _visible_rects(self) -> list[QRectF]:
        """The scene area shown in each view (with a margin)."""
        return [view.mapToScene(view.viewport().rect()).boundingRect()
                .adjusted(-200, -200, 200, 200) for view in self.views()]

    def _visible_rect(self) -> QRectF:
        """The scene area shown in the views (with a margin), empty without a view."""
        rect = QRectF()
        for shown in self._visible_rects():
            rect = rect.united(shown)
        return rect

    def _apply_pending_labels(self) -> None:
        """The next batch of nodes kept for later (see apply_report), in the document's idle
        queue: one batch per turn of the event loop, between the validation's steps and
        the panels' refreshes."""
        self._apply_nodes(list(itertools.islice(self._pending, self.BATCH_NODES)))
        if self._pending:
            self.document.later(self._apply_pending_labels)

    def flush_labels(self) -> None:
        """Finish the edit's validation and apply every label kept for later now (tests,
        export of the canvas as an image)."""
        self.document.finish_validation()
        while self._pending:
            self._apply_nodes(list(self._pending))

    def restyle(self) -> None:
        """Redraw every item in the current theme's colours (after a theme switch)."""
        for item in self.edges.values():
            item.restyle()
        for item in self.nodes.values():
            item.update()
        self.layout_version += 1   # the mini-map's colours
        self.invalidate(self.sceneRect(), QGraphicsScene.SceneLayer.BackgroundLayer)   # cached
        self.update()

    # moves and selection ------------------------------------------------------------------
    def node_item_moved(self, item: NodeItem) -> None:
        self._layout_changed()
        for e_item in self._node_edges.get(item.node_id, ()):
            e_item.update_path()

    def commit_moves(self) -> bool:
        """Push one MoveNodesCommand for every node whose item was dragged away from its
        document position (called when a drag ends)."""
        moves = {}
        for nid, item in self.nodes.items():
            node = self._graph.nodes.get(nid)
            new = (item.pos().x(), item.pos().y())
            if node is not None and tuple(node.pos) != new:
                moves[nid] = (node.pos, new)
        if not moves:
            return False
        try:
            self.document.push(MoveNodesCommand(self._graph, moves))
        except ValueError:
            self.reset_positions(moves)  # refused (e.g. locked): the items go back
            raise
        return True

    def reset_positions(self, ids) -> None:
        for nid in ids:
            item, node = self.nodes.get(nid), self._graph.nodes.get(nid)
            if item is not None and node is not None:
                self.place(item, QPointF(*node.pos))

    def set_snap(self, on: bool) -> None:
        self.snap_to_grid = on

    def place(self, item: NodeItem, pos: QPointF) -> None:
        """Move a node item and its wires (no Python itemChange hook: it is too costly to
        run on every item change of a 1,000-node scene)."""
        item.setPos(pos)
        self.node_item_moved(item)

    def follow_drag(self) -> None:
        """During a mouse drag of nodes: snap them to the grid and let their wires follow."""
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                if self.snap_to_grid:
                    p = item.pos()
                    snapped = QPointF(round(p.x() / GRID) * GRID, round(p.y() / GRID) * GRID)
                    if snapped != p:
                        item.setPos(snapped)
                self.node_item_moved(item)

    def selected_ids(self) -> list[str]:
        """Selected node ids, in document order."""
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [nid for nid in self._graph.nodes if nid in chosen]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_ids(self, ids: list[str]) -> None:
        if self._syncing_selection or set(ids) == set(self.selected_ids()):
            return
        self._syncing_selection = True
        try:
            self.clearSelection()
            for nid in ids:
                if nid in self.nodes:
                    self.nodes[nid].setSelected(True)
        finally:
            self._syncing_selection = False
        self._on_selection()

    def _on_selection(self) -> None:
        if self._syncing_selection:
            return
        ids = self.selected_ids()
        self._syncing_selection = True
        try:
            self.document.set_selection(ids)
        finally:
            self._syncing_selection = False
        self.selection_ids.emit(ids)

    def nodes_rect(self, ids: list[str] | None = None) -> QRectF:
        """Bounding rectangle of the given nodes (all by default; that one is cached)."""
        if not ids:
            if self._all_rect is None:
                self._all_rect = self._union(list(self.nodes.values()))
            return QRectF(self._all_rect)
        return self._union([self.nodes[i] for i in ids if i in self.nodes])

    @staticmethod
    def _union(items: list[NodeItem]) -> QRectF:
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # background grid -----------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        c = canvas_colors()
        painter.fillRect(rect, QColor(c.background))
        scale = painter.worldTransform().m11()
        if scale < 0.35:
            return
        left = math.floor(rect.left() / GRID) * GRID
        top = math.floor(rect.top() / GRID) * GRID
        minor, major = [], []
        x = left
        while x < rect.right():
            (major if round(x / GRID) % 5 == 0 else minor).append(
                QLineF(x, rect.top(), x, rect.bottom()))
            x += GRID
        y = top
        while y < rect.bottom():
            (major if round(y / GRID) % 5 == 0 else minor).append(
                QLineF(rect.left(), y, rect.right(), y))
            y += GRID
        # axis-aligned hairlines gain nothing from antialiasing, which was most of a frame
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(QPen(QColor(c.grid_minor), 0))
        painter.drawLines(minor)
        painter.setPen(QPen(QColor(c.grid_major), 0))
        painter.drawLines(major)
        painter.restore()
