"""The canvas view: zoom, pan, rubber-band selection, node moves, wire dragging, drops from
the palette, drop-on-wire insertion and the quick-add trigger."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter
from PySide6.QtWidgets import QGraphicsView

from ...commands import (
    LAYER_MIME,
    AddNodeCommand,
    MacroCommand,
    MoveNodesCommand,
    insert_on_wire_command,
)
from ..theme import canvas_colors
from .edge_item import EdgeItem
from .minimap import MiniMap
from .node_item import DEFAULT_HEIGHT, READABLE_ZOOM, WIDTH, NodeItem
from .placement import make_room
from .port_item import PortItem
from .scene import GraphScene
from .wire_drag import WireDrag

MIN_ZOOM, MAX_ZOOM = 0.1, 3.0


LIBRARY_PREFIX = "library:"  # a palette entry of the block library: "library:<name>"


class GraphView(QGraphicsView):
    """Signals: status_message(str) (passing hints); refused(str) (an edit was refused, with
    the reason); quick_add_requested(QPoint global, QPointF scene) on Tab or a double-click
    on empty canvas; zoom_changed(float)."""

    status_message = Signal(str)
    refused = Signal(str)
    quick_add_requested = Signal(QPoint, QPointF)
    zoom_changed = Signal(float)

    def __init__(self, scene: GraphScene, parent=None):
        super().__init__(scene, parent)
        self.graph_scene = scene
        self.setObjectName("canvas")
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        # the grid is drawn once per zoom and scroll, not in every frame (a third of one)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._wire: WireDrag | None = None
        self._pan_from: QPoint | None = None
        self._space = False
        self._pressed_on_node = False
        self._hover_edge: EdgeItem | None = None
        self.minimap = MiniMap(self)
        self.minimap_enabled = True
        self.horizontalScrollBar().valueChanged.connect(self.update_minimap_visibility)
        self.verticalScrollBar().valueChanged.connect(self.update_minimap_visibility)
        scene.changed.connect(self.update_minimap_visibility)
        self._was_empty = not scene.nodes
        scene.document.changed.connect(self._repaint_if_emptiness_changed)

    @property
    def document(self):
        return self.graph_scene.document

    # zoom -----------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, z: float) -> None:
        z = max(MIN_ZOOM, min(MAX_ZOOM, z))
        factor = z / self.zoom()
        self.scale(factor, factor)
        self.update_minimap_visibility()
        self.zoom_changed.emit(self.zoom())
        self.minimap.update()

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom() * factor)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.0015 ** delta)
        event.accept()

    def frame(self, rect: QRectF) -> None:
        """Fit a scene rectangle into the view (zoom at most 1.25)."""
        if rect.isEmpty():
            return
        self.graph_scene.grow_now()
        self.fitInView(rect.adjusted(-50, -50, 50, 50), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.25:
            self.set_zoom(1.25)
            self.centerOn(rect.center())
        self.update_minimap_visibility()
        self.zoom_changed.emit(self.zoom())

    def frame_all(self) -> None:
        self.frame(self.graph_scene.nodes_rect())

    def frame_readable(self, min_zoom: float = READABLE_ZOOM) -> None:
        """Frame all if the text stays readable (>= 9 px: see node_item.READABLE_ZOOM);
        otherwise show the inputs' end at min_zoom."""
        rect = self.graph_scene.nodes_rect()
        self.frame(rect)
        if rect.isEmpty() or self.zoom() >= min_zoom:
            return
        self.set_zoom(min_zoom)
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        self.centerOn(rect.left() - 50 + visible.width() / 2, rect.center().y())

    def frame_selection(self) -> None:
        ids = self.graph_scene.selected_ids()
        self.frame(self.graph_scene.nodes_rect(ids) if ids else self.graph_scene.nodes_rect())

    # the empty canvas ---------------------------------------------------------------------------
    EMPTY_HINT = ("Drag a layer from the Layers panel onto the canvas,\n"
                  "or press Tab (or double-click here) to add one by name.\n"
                  "File › New from Example (Ctrl+Shift+N) opens a ready-made network.")

    def _repaint_if_emptiness_changed(self) -> None:
        empty = not self.graph_scene.nodes
        if empty != self._was_empty:
            self._was_empty = empty
            self.viewport().update()   # show or remove the hint

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawForeground(painter, rect)
        if self.graph_scene.nodes:
            return
        painter.save()
        painter.resetTransform()  # viewport pixels: the hint stays centred and readable
        font = painter.font()
        font.setPixelSize(14)
        painter.setFont(font)
        painter.setPen(QColor(canvas_colors().node_subtext))
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter,
                         self.EMPTY_HINT)
        painter.restore()

    # mini-map placement ------------------------------------------------------------------------
    MINIMAP_MARGIN = 10
    #: below this viewport size the mini-map is off: it would cover too much of the canvas
    MINIMAP_MIN_VIEW = (520, 340)

    def set_minimap_enabled(self, on: bool) -> None:
        self.minimap_enabled = on
        self.update_minimap_visibility()

    def update_minimap_visibility(self, *_args) -> None:
        """Show the mini-map where it covers no node, when part of the graph is out of view
        (MiniMap.place)."""
        self.minimap.place()

    def minimap_rect_in_viewport(self) -> QRectF:
        """Where the mini-map is, in viewport coordinates (for tests and screenshots)."""
        top_left = self.viewport().mapFrom(self, self.minimap.pos())
        return QRectF(top_left.x(), top_left.y(), self.minimap.width(), self.minimap.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.minimap.refit()
        self.update_minimap_visibility()

    # mouse ------------------------------------------------------------------------------------
    def _port_at(self, pos: QPoint) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    def contextMenuEvent(self, event) -> None:
        """Right-click on a node: the menu of `context_menu_provider(selected ids)` (the
        node clicked joins the selection, or replaces it when it was not selected)."""
        provider = getattr(self, "context_menu_provider", None)
        node = next((i for i in self.items(event.pos()) if isinstance(i, NodeItem)), None)
        if provider is None or node is None:
            super().contextMenuEvent(event)
            return
        if not node.isSelected():
            self.graph_scene.select_ids([node.node_id])
        menu = provider(self.graph_scene.selected_ids())
        if menu is not None and not menu.isEmpty():
            self.open_menu(menu, event.globalPos())
        event.accept()

    def open_menu(self, menu, global_pos: QPoint) -> None:
        """Show a context menu (modal until an action is chosen; tests replace this)."""
        menu.exec(global_pos)

    def mousePressEvent(self, event) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or \
                (button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton:
            port = self._port_at(event.position().toPoint())
            if port is not None:
                self._wire = self._start_wire(port)
                self._wire.move(self.mapToScene(event.position().toPoint()), None)
                event.accept()
                return
            item = self.itemAt(event.position().toPoint())
            self._pressed_on_node = isinstance(item, NodeItem) or \
                isinstance(getattr(item, "parentItem", lambda: None)(), NodeItem)
        super().mousePressEvent(event)

    def _start_wire(self, port: PortItem) -> WireDrag:
        """From an output: a new wire. From a connected input: pick up its wire."""
        graph = self.document.edit_graph
        edge = None if port.is_output else graph.edge_into(port.node_id, port.port)
        if edge is not None:
            src = self.graph_scene.nodes.get(edge.src)
            src_port = src.port(edge.src_port, True) if src is not None else None
            if src_port is not None:
                return WireDrag(self.graph_scene, src_port, detach=edge)
        return WireDrag(self.graph_scene, port)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position().toPoint()
        if self._pan_from is not None:
            d = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - d.y())
            event.accept()
            return
        if self._wire is not None:
            problem = self._wire.move(self.mapToScene(pos), self._port_at(pos))
            if problem:
                self.status_message.emit(problem)
            event.accept()
            return
        super().mouseMoveEvent(event)
        if self._pressed_on_node:
            self.graph_scene.follow_drag()
            self._update_wire_hover()

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        if self._wire is not None:
            wire, self._wire = self._wire, None
            connected, message = wire.finish()
            if message == "wire removed":
                self.status_message.emit("Wire removed")
            elif message:
                self.refused.emit(f"not connected: {message}")
            elif connected:
                self.status_message.emit("Connected")
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if self._pressed_on_node:
            self._pressed_on_node = False
            self._end_node_drag()

    def _dragged_single_free_node(self) -> NodeItem | None:
        ids = self.graph_scene.selected_ids()
        if len(ids) != 1:
            return None
        graph = self.document.edit_graph
        if graph.in_edges(ids[0]) or graph.out_edges(ids[0]):
            return None
        return self.graph_scene.nodes.get(ids[0])

    def _edge_under(self, scene_rect: QRectF) -> EdgeItem | None:
        for item in self.graph_scene.items(scene_rect):
            if isinstance(item, EdgeItem):
                return item
        return None

    def _update_wire_hover(self) -> None:
        node = self._dragged_single_free_node()
        edge = None
        if node is not None:
            edge = self._edge_under(node.sceneBoundingRect().adjusted(30, 20, -30, -20))
        self._set_hover_edge(edge)

    def _end_node_drag(self) -> None:
        """One undo command per drag; dropping a free node on a wire inserts it there."""
        edge_item, self._hover_edge = self._hover_edge, None
        if edge_item is not None:
            edge_item.set_hovered(False)
            node = self._dragged_single_free_node()
            if node is not None and edge_item.edge in self.document.edit_graph.edges:
                self._insert_existing(node, edge_item)
                return
        self._commit_moves()

    def _commit_moves(self) -> None:
        try:
            self.graph_scene.commit_moves()
        except ValueError as exc:
            self.refused.emit(str(exc))

    def node_rects(self) -> dict[str, QRectF]:
        return {nid: item.sceneBoundingRect() for nid, item in self.graph_scene.nodes.items()}

    def _room_on(self, edge, top_left: QPointF, size: QSizeF, exclude: str | None = None):
        """Where a node put into `edge` goes, and the moves that make room for it."""
        pos, moves = make_room(self.document.graph, self.node_rects(),
                               QRectF(top_left, size), edge, exclude)
        if self.graph_scene.snap_to_grid:
            pos = QPointF(round(pos.x() / 20) * 20, round(pos.y() / 20) * 20)
        return (pos.x(), pos.y()), moves

    def _insert_existing(self, node: NodeItem, edge_item: EdgeItem) -> None:
        graph = self.document.edit_graph
        nid = node.node_id
        new, moves = self._room_on(edge_item.edge, node.pos(), node.body_rect().size(), nid)
        macro = MacroCommand(graph, "Insert on wire")
        moves[nid] = (graph.nodes[nid].pos, new)
        macro.add(MoveNodesCommand(graph, moves))
        try:
            inner = insert_on_wire_command(graph, edge_item.edge, node_id=nid)
        except ValueError as exc:
            self.refused.emit(str(exc))
            self._commit_moves()
            return
        macro.children.extend(inner.children)
        if not self.document.try_push(macro):
            self._commit_moves()

    def mouseDoubleClickEvent(self, event) -> None:
        pos = event.position().toPoint()
        if self.itemAt(pos) is None:
            self.quick_add_requested.emit(self.mapToGlobal(pos), self.mapToScene(pos))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # keys -------------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape and self._wire is not None:
            self._wire.cancel()
            self._wire = None
            return
        if event.matches(QKeySequence.StandardKey.ZoomIn) or event.key() == Qt.Key.Key_Plus:
            self.zoom_by(1.2)
            return
        if event.matches(QKeySequence.StandardKey.ZoomOut) or event.key() == Qt.Key.Key_Minus:
            self.zoom_by(1 / 1.2)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab opens the quick-add popup instead of moving the focus

    def cursor_scene_pos(self) -> QPointF:
        local = self.mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
        return self.mapToScene(local)

    # drops from the palette ------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
            p = self.mapToScene(event.position().toPoint())
            self._set_hover_edge(self._edge_under(QRectF(p.x() - 6, p.y() - 6, 12, 12)))
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event) -> None:
        self._set_hover_edge(None)
        super().dragLeaveEvent(event)

    def _set_hover_edge(self, edge: EdgeItem | None) -> None:
        """Highlight the wire a dragged layer would be inserted into."""
        if edge is not self._hover_edge:
            if self._hover_edge is not None and self._hover_edge.scene() is not None:
                self._hover_edge.set_hovered(False)
            if edge is not None:
                edge.set_hovered(True)
            self._hover_edge = edge

    def dropEvent(self, event) -> None:
        if not event.mimeData().hasFormat(LAYER_MIME):
            super().dropEvent(event)
            return
        self._set_hover_edge(None)
        layer = bytes(event.mimeData().data(LAYER_MIME)).decode("utf-8", "replace")
        scene_pos = self.mapToScene(event.position().toPoint())
        self.add_layer(layer, scene_pos)
        event.acceptProposedAction()

    def add_layer(self, layer: str, scene_pos: QPointF) -> str | None:
        """Add a node of `layer` centred at `scene_pos`, into the wire under it if any."""
        graph = self.document.edit_graph
        top_left = (scene_pos.x() - WIDTH / 2, scene_pos.y() - 30)
        if self.graph_scene.snap_to_grid:
            top_left = tuple(round(v / 20) * 20 for v in top_left)
        if layer.startswith(LIBRARY_PREFIX) and hasattr(self, "block_editor"):
            return self.block_editor.add_from_library(layer[len(LIBRARY_PREFIX):],
                                                      QPointF(*top_left))
        edge = self._edge_under(QRectF(scene_pos.x() - 6, scene_pos.y() - 6, 12, 12))
        params = self.document.layer_defaults(layer)
        try:
            if edge is not None:
                top_left, moves = self._room_on(edge.edge, QPointF(*top_left),
                                                QSizeF(WIDTH, DEFAULT_HEIGHT))
                cmd = insert_on_wire_command(graph, edge.edge, layer, top_left, params=params)
                if moves:
                    cmd.add(MoveNodesCommand(graph, moves))
                nid = cmd.node_id
            else:
                cmd = AddNodeCommand(graph, layer, params, top_left)
                nid = cmd.node_id
        except (KeyError, ValueError) as exc:
            self.refused.emit(f"cannot add {layer!r}: {str(exc).strip(chr(39))}")
            return None
        if not self.document.try_push(cmd):
            return None
        self.graph_scene.select_ids([nid])
        return nid
