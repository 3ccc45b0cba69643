"""Per-unit heatmaps inside canvas nodes (teaching mode): for a model with a 2-number input,
each hidden unit of a Linear or activation layer of up to 32 units is drawn as a small square
inside its node, the unit's value over the input plane (x1 to the right, x2 up; blue positive,
orange negative). Idle they show the document's model (computed off the GUI thread); during a
run they follow the training live (a rate-capped watcher on the trainer thread). Hovering a
square shows it enlarged. View > Unit Heatmaps switches them off; other models never get them.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget
from shiboken6 import isValid

from engine.teach import two_d_input
from engine.teach.units import HEATMAP_SIZE, UnitMaps, UnitWatcher, project_unit_maps
from studio.background import BackgroundCall, SettlesBackground

from ..teaching.boundary_tab import LiveFeed
from ..theme import canvas_colors, current_name
from .node_item import WIDTH

#: negative, zero, positive (TensorFlow Playground's orange / blue, zero neutral)
UNIT_COLORS = {"light": ("#e8891a", "#f7f7f7", "#1f78c1"),
               "dark": ("#f0a040", "#2a2d33", "#4aa3ef")}
#: activations with a known range get a fixed scale (comparable over training)
FIXED_SCALE = {"act.Tanh": 1.0, "act.Sigmoid": 1.0, "act.Softsign": 1.0,
               "act.Hardsigmoid": 1.0}
INNER = WIDTH - 16          # the grid's width inside a card
GAP = 2.0
POPUP = 176                 # the enlarged square, in screen pixels
EXPLAIN = ("Each square is one unit: its value over the input plane (x1 to the right, x2 "
           "up). Blue: positive, orange: negative, pale: near zero. Hover to enlarge.")


def diverging_image(values: np.ndarray, scale: float) -> QImage:
    """(h, w) values as an RGB image, y up (row 0 of `values` is the bottom line)."""
    neg, zero, pos = (np.array(QColor(c).getRgb()[:3], np.float32)
                      for c in UNIT_COLORS["dark" if current_name() == "dark" else "light"])
    t = np.nan_to_num(np.asarray(values, np.float32)[::-1] / (scale if scale > 0 else 1.0))
    t = np.clip(t, -1.0, 1.0)[..., None]
    rgb = zero + np.where(t >= 0, (pos - zero) * t, (neg - zero) * -t)
    pixels = np.ascontiguousarray(rgb.astype(np.uint8))
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def signed_color(value: float, scale: float) -> QColor:
    """The colour of one signed number on the heatmaps' scale (-scale orange .. +scale blue)."""
    neg, zero, pos = (QColor(c) for c in UNIT_COLORS["dark" if current_name() == "dark"
                                                      else "light"])
    t = max(-1.0, min(1.0, value / scale if scale > 0 else 0.0))
    end = pos if t >= 0 else neg
    f = abs(t)
    return QColor.fromRgbF(zero.redF() + (end.redF() - zero.redF()) * f,
                           zero.greenF() + (end.greenF() - zero.greenF()) * f,
                           zero.blueF() + (end.blueF() - zero.blueF()) * f)


def grid_shape(units: int) -> tuple[int, float]:
    """Columns and the cell size (scene pixels) of a node's grid of `units` squares."""
    cols = units if units <= 4 else 4 if units <= 12 else 8
    return cols, min(26.0, (INNER - (cols - 1) * GAP) / cols)


class UnitPopup(QWidget):
    """The enlarged square of one unit, with what it shows (a tooltip-like window)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.ToolTip)
        self.image = QLabel()
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setFixedWidth(POPUP)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.image)
        lay.addWidget(self.caption)

    def show_unit(self, image: QImage, text: str, at) -> None:
        self.image.setPixmap(QPixmap.fromImage(image).scaled(
            POPUP, POPUP, Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation))
        self.caption.setText(text)
        self.adjustSize()
        self.move(at.x() + 16, at.y() + 16)
        self.show()


class UnitGridItem(QGraphicsItem):
    """A node's grid of unit squares (a child of its NodeItem)."""

    def __init__(self, parent: QGraphicsItem, popup_of):
        super().__init__(parent)
        self.popup_of = popup_of
        self.images: list[QImage] = []
        self.maps = np.zeros((0, 1, 1), np.float32)
        self.scale = 1.0
        self.cols, self.cell = 1, 0.0
        self.setAcceptHoverEvents(True)
        self.setToolTip(EXPLAIN)

    def set_maps(self, maps: np.ndarray, scale: float) -> None:
        self.prepareGeometryChange()
        self.maps, self.scale = maps, scale
        self.cols, self.cell = grid_shape(len(maps))
        self.images = [diverging_image(m, scale) for m in maps]
        self.update()

    def height(self) -> float:
        rows = math.ceil(len(self.maps) / self.cols)
        return rows * self.cell + (rows - 1) * GAP

    def cell_rect(self, unit: int) -> QRectF:
        r, c = divmod(unit, self.cols)
        left = (INNER - self.cols * self.cell - (self.cols - 1) * GAP) / 2
        return QRectF(left + c * (self.cell + GAP), r * (self.cell + GAP), self.cell, self.cell)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, INNER, self.height())

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        painter.setPen(QPen(QColor(canvas_colors().node_border), 0.8))
        for unit, image in enumerate(self.images):
            rect = self.cell_rect(unit)
            painter.drawImage(rect, image)
            painter.drawRect(rect)

    def unit_at(self, pos: QPointF) -> int | None:
        return next((u for u in range(len(self.images)) if self.cell_rect(u).contains(pos)),
                    None)

    def hoverMoveEvent(self, event) -> None:
        unit = self.unit_at(event.pos())
        popup = self.popup_of()
        if unit is None or popup is None:
            if popup is not None:
                popup.hide()
            return
        node = self.parentItem().node
        text = (f"<b>{node.name}</b> · unit {unit + 1} of {len(self.images)}<br>its value "
                f"over the input plane (x1 →, x2 ↑); colours run from −{self.scale:.3g} "
                f"(orange) to +{self.scale:.3g} (blue)")
        popup.show_unit(self.images[unit], text, event.screenPos())

    def hoverLeaveEvent(self, event) -> None:
        popup = self.popup_of()
        if popup is not None:
            popup.hide()
        super().hoverLeaveEvent(event)


class UnitFeed(LiveFeed):
    """Trainer-thread callback: a UnitWatcher over `node_ids` once the model exists."""

    def __init__(self, emit):
        super().__init__(emit)
        self.node_ids: list[str] = []

    def make_watcher(self, trainer, _state, plane):
        return UnitWatcher(lambda: trainer.model, plane, self.node_ids, self._send)


def _compute(token: int, project, seed: int):
    from engine.teach import load_plane_data

    data = load_plane_data(project, size=HEATMAP_SIZE)
    return token, data.plane, project_unit_maps(project.graph, project.graph.weights,
                                                data.plane, seed)


class UnitHeatmaps(QObject, SettlesBackground):
    """Keeps the canvas's unit heatmaps in step with the document and a training run.
    `frame(UnitMaps)` is emitted from the trainer thread (queued to the GUI thread)."""

    frame = Signal(object)

    def __init__(self, scene, view=None):
        super().__init__(scene)
        self.scene, self.document = scene, scene.document
        self.view = view
        self.enabled = True
        self.running = False
        self.plane = None
        self.items: dict[str, UnitGridItem] = {}
        self.frames_shown = 0
        self.message = ""                   # why nothing is drawn (tests, status)
        self._popup: UnitPopup | None = None
        self._call: BackgroundCall | None = None
        self._token = 0
        self._training = None
        self.feed = UnitFeed(self.frame.emit)
        self.frame.connect(self._show_frame, Qt.ConnectionType.QueuedConnection)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.refresh)
        doc = self.document
        doc.undo_stack.indexChanged.connect(self.schedule)
        doc.graph_replaced.connect(self.schedule)
        doc.settings_changed.connect(self.schedule)
        doc.scope_changed.connect(self.schedule)
        self.schedule()

    def attach(self, training) -> None:
        """Follow the runs of a TrainingPanel (its trainer-thread callbacks and run state)."""
        self._training = training
        training.extra_callbacks.append(self.feed)
        training.running_changed.connect(self._run_changed)

    def popup(self) -> UnitPopup | None:
        if self._popup is None and self.view is not None:
            self._popup = UnitPopup(self.view)
        return self._popup

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        self.feed.enabled = self.enabled and self.running
        if on:
            self.refresh()
        else:
            self._token += 1
            self.clear()

    # -- the document's model ----------------------------------------------------------------
    def schedule(self, *_) -> None:
        if not self.running:
            self._debounce.start()

    def refresh(self) -> None:
        """Recompute the heatmaps of the document's model (off the GUI thread)."""
        self._debounce.stop()
        if self.running:
            return
        self._token += 1
        doc = self.document
        why = "switched off" if not self.enabled else \
            "inside a block" if doc.edit_graph is not doc.graph else two_d_input(doc.graph)
        if why:
            self.message = why
            self.clear()
            return
        from engine.project import snapshot_project

        project = snapshot_project(doc.project)
        call = BackgroundCall(_compute, self._token, project,
                              int(project.training.get("seed", 0) or 0))
        call.succeeded.connect(self._computed)
        call.failed.connect(self._failed)
        self._call = call
        call.start()

    def _computed(self, result) -> None:
        token, plane, maps = result
        if token != self._token or self.running:
            return
        self.plane = plane
        self.message = "" if maps.maps else "no hidden layer of at most 32 units"
        self.show(maps)

    def _failed(self, message: str, _tb: str = "") -> None:
        self.message = message
        self.clear()

    # -- drawing -----------------------------------------------------------------------------
    def show(self, maps: UnitMaps) -> None:
        graph = self.document.graph
        for nid in [n for n in self.items if n not in maps.maps]:
            self._remove(nid)
        for nid, array in maps.maps.items():
            node = self.scene.nodes.get(nid)
            if node is None or nid not in graph.nodes:
                continue
            item = self.items.get(nid)
            if item is None or not isValid(item) or item.parentItem() is not node:
                item = self.items[nid] = UnitGridItem(node, self.popup)
            scale = FIXED_SCALE.get(graph.nodes[nid].type) or maps.scale(nid) or 1.0
            item.set_maps(array, scale)
            top = node.set_extra_height(item.height() + 6)
            item.setPos(8, top)

    def restyle(self) -> None:
        """Redraw the squares in the current theme's colours."""
        for item in self.items.values():
            if isValid(item):
                item.set_maps(item.maps, item.scale)

    def _remove(self, nid: str) -> None:
        item = self.items.pop(nid, None)
        if item is None or not isValid(item):
            return
        node = item.parentItem()
        if node is not None and isValid(node):
            node.set_extra_height(0.0)
        if item.scene() is not None:
            item.scene().removeItem(item)

    def clear(self) -> None:
        for nid in list(self.items):
            self._remove(nid)
        if self._popup is not None:
            self._popup.hide()

    # -- live, while a run trains ------------------------------------------------------------
    def _run_changed(self, running: bool) -> None:
        self.running = running
        worker = getattr(self._training, "worker", None)
        if running and self.enabled and self.plane is not None and self.items:
            self.frames_shown = 0
            self.feed.node_ids = list(self.items)
            self.feed.start(worker, self.plane)
            self.feed.enabled = True
        else:
            self.feed.end()
            self.feed.enabled = False
            if not running:
                self.schedule()

    def _show_frame(self, maps: UnitMaps) -> None:
        if not self.running or not self.enabled or maps.plane != self.plane:
            return
        self.frames_shown += 1
        self.show(maps)
