"""The mini-map: a small overview of the whole graph in a corner of the canvas, with the
visible area outlined; click or drag in it to move the main view there. It draws one
rectangle per node itself (no item painting) into a picture kept until a node is added,
removed, moved or resized, so it stays cheap on 1,000-node graphs: an edit that only changes
shapes redraws the kept picture and the visible-area outline. `place` puts it in a corner
of the canvas where it covers no node."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QGraphicsView

from ..theme import canvas_colors, category_color
from .node_item import NodeItem


class MiniMap(QFrame):
    MARGIN = 60.0

    def __init__(self, main_view: QGraphicsView):
        super().__init__(main_view)
        self.main_view = main_view
        self.setObjectName("minimap")
        self.setFixedSize(200, 120)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Mini-map: click to move the view")
        self._world = QRectF()
        self._place_key: tuple | None = None   # what the last `place` looked at
        self._nodes_key: tuple | None = None   # what the kept picture of the nodes shows
        self._nodes_pixmap = QPixmap()
        self._refresh = QTimer(self, singleShot=True, interval=100)
        self._refresh.timeout.connect(self.update)
        main_view.horizontalScrollBar().valueChanged.connect(self.update)
        main_view.verticalScrollBar().valueChanged.connect(self.update)
        main_view.scene().changed.connect(lambda _r: self._refresh.start())

    def place(self) -> None:
        """Show the mini-map only when part of the graph is out of view, and only in a corner
        of the canvas where it covers no node (else it stays hidden). Called on every scene
        change: it looks again only when the layout or the part in view changed."""
        view = self.main_view
        try:
            t = view.transform()
            key = (view.graph_scene.layout_version, view.minimap_enabled,
                   view.viewport().size().toTuple(), self.size().toTuple(),
                   t.m11(), t.m22(), view.horizontalScrollBar().value(),
                   view.verticalScrollBar().value())
            if key == self._place_key:
                return
            self._place_key = key
            vp = view.viewport().rect()
            visible = view.mapToScene(vp).boundingRect()
            nodes = view.graph_scene.nodes_rect()
            small = vp.width() < view.MINIMAP_MIN_VIEW[0] or \
                vp.height() < view.MINIMAP_MIN_VIEW[1]
            wanted = view.minimap_enabled and not small and not nodes.isEmpty() \
                and not visible.contains(nodes)
            corner = self._free_corner() if wanted else None
        except RuntimeError:  # scroll signals fired while Qt tears the scene down
            return
        if corner is not None:
            self.move(view.viewport().mapTo(view, corner))
        self.setVisible(corner is not None)

    def _free_corner(self) -> QPoint | None:
        """The top-left of the first corner (bottom-right, bottom-left, top-right, top-left)
        where the mini-map covers no node."""
        view = self.main_view
        vp, m = view.viewport().rect(), view.MINIMAP_MARGIN
        w, h = self.width(), self.height()
        xs = (vp.right() - w - m, vp.left() + m)
        ys = (vp.bottom() - h - m, vp.top() + m)
        for y in ys:
            for x in xs:
                box = QRectF(x, y, w, h)
                area = view.mapToScene(box.toAlignedRect()).boundingRect()
                if not any(isinstance(item, NodeItem) for item in view.graph_scene.items(area)):
                    return QPoint(x, y)
        return None

    def refit(self) -> None:
        self.update()

    def _transform(self) -> tuple[float, QPointF]:
        """Scale and offset mapping scene coordinates into this widget."""
        rect = self.main_view.graph_scene.nodes_rect()
        if rect.isEmpty():
            rect = QRectF(0, 0, 400, 300)
        rect = rect.adjusted(-self.MARGIN, -self.MARGIN, self.MARGIN, self.MARGIN)
        self._world = rect
        s = min((self.width() - 4) / rect.width(), (self.height() - 4) / rect.height())
        off = QPointF((self.width() - rect.width() * s) / 2 - rect.left() * s,
                      (self.height() - rect.height() * s) / 2 - rect.top() * s)
        return s, off

    def paintEvent(self, event) -> None:
        c = canvas_colors()
        p = QPainter(self)
        s, off = self._transform()
        p.drawPixmap(0, 0, self._nodes_picture(s, off))

        def to_map(r: QRectF) -> QRectF:
            return QRectF(r.left() * s + off.x(), r.top() * s + off.y(),
                          max(r.width() * s, 2.0), max(r.height() * s, 2.0))

        view = self.main_view
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        color = QColor(c.selection)
        p.setPen(QPen(color, 1))
        color.setAlpha(30)
        p.setBrush(color)
        p.drawRect(to_map(visible))
        p.setPen(QPen(QColor(c.node_border), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()

    def _nodes_picture(self, s: float, off: QPointF) -> QPixmap:
        """The background and one rectangle per node (redrawn only when the layout, the
        size or the theme changed)."""
        scene = self.main_view.graph_scene
        c = canvas_colors()
        key = (scene.layout_version, len(scene.nodes), self.size().toTuple(),
               self.devicePixelRatioF(), c.background)
        if key == self._nodes_key:
            return self._nodes_pixmap
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(self.size() * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(QColor(c.background))
        p = QPainter(pixmap)
        p.setPen(Qt.PenStyle.NoPen)
        for item in scene.nodes.values():
            r = item.sceneBoundingRect()
            p.setBrush(category_color(item.node.spec.category))
            p.drawRect(QRectF(r.left() * s + off.x(), r.top() * s + off.y(),
                              max(r.width() * s, 2.0), max(r.height() * s, 2.0)))
        p.end()
        self._nodes_key, self._nodes_pixmap = key, pixmap
        return pixmap

    def _jump(self, event) -> None:
        s, off = self._transform()
        pos = event.position()
        self.main_view.centerOn((pos.x() - off.x()) / s, (pos.y() - off.y()) / s)
        self.update()

    def mousePressEvent(self, event) -> None:
        self._jump(event)

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._jump(event)

    def wheelEvent(self, event) -> None:
        event.ignore()
