"""Training insight drawn on the canvas: a live thumbnail of the selected node's activation under
it, and wires tinted by the gradient norm of the layer that feeds them (vanishing or exploding
gradients show as cold or hot wires).

Red on the canvas means an error, only: the tint runs from blue through teal and green to yellow
(a viridis-like scale, log of the norm), a legend in a corner names the range, and a wire's
tooltip gives its number."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QColor, QFont, QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsSimpleTextItem
from shiboken6 import isValid

from ..theme import canvas_colors, current_name
from .heat_legend import HeatLegend

THUMB = 48          # thumbnail size in scene pixels
REDRAW_MS = 250     # wires and thumbnails update at most 4 times a second
#: cold (small norm) to hot (large norm); no red or orange: red means an error
HEAT_STOPS = {"light": ("#2c5aa0", "#1f8f8a", "#4aa84a", "#b89b00"),
              "dark": ("#5b8def", "#2bb3a8", "#7bd36a", "#f2dc3a")}


def heat_color(t: float) -> QColor:
    """The colour at position t (0 cold .. 1 hot) of the current theme's heat scale."""
    stops = [QColor(c) for c in HEAT_STOPS["dark" if current_name() == "dark" else "light"]]
    t = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    a, b, f = stops[i], stops[i + 1], t - i
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * f,
                           a.greenF() + (b.greenF() - a.greenF()) * f,
                           a.blueF() + (b.blueF() - a.blueF()) * f)


def heat_colors(norms: dict[str, float]) -> dict[str, QColor]:
    """Per node, its colour on the heat scale: log10 of its norm between the smallest (cold)
    and the largest (hot) of the norms given."""
    logs = {k: math.log10(v) for k, v in norms.items() if v > 0 and math.isfinite(v)}
    if not logs:
        return {}
    lo, hi = min(logs.values()), max(logs.values())
    return {k: heat_color(1.0 if hi <= lo else (v - lo) / (hi - lo)) for k, v in logs.items()}


def strongest_channel(sample: np.ndarray) -> int:
    """The channel (first axis) whose values vary most: the one with the most signal."""
    flat = sample.reshape(sample.shape[0], -1)
    spread = flat.std(axis=1)
    return int(np.argmax(spread if spread.max() > 0 else np.abs(flat).max(axis=1)))


def activation_view(array: np.ndarray) -> tuple[QImage, str] | None:
    """Sample 0 of a node's output as a grayscale image and its label: the channel with the
    most signal of (C, H, W) or (C, L) feature maps, a heat strip for (F,) vectors. None for
    arrays with nothing to show."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim < 2 or a.shape[0] == 0:
        return None
    a = np.nan_to_num(a[0])
    if a.ndim == 1:
        image, label = a[None, :], f"{a.shape[0]} units"
    else:
        c = strongest_channel(a)
        image = a[c]
        while image.ndim > 2:  # (C, D, H, W): the middle slice
            image = image[image.shape[0] // 2]
        if image.ndim == 1:
            image = image[None, :]
        label = f"channel {c + 1} of {a.shape[0]}"
    lo, hi = float(image.min()), float(image.max())
    scaled = np.zeros_like(image) if hi <= lo else (image - lo) / (hi - lo)
    pixels = np.ascontiguousarray((scaled * 255).astype(np.uint8))
    h, w = pixels.shape
    return QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy(), label


def activation_image(array: np.ndarray) -> QImage | None:
    view = activation_view(array)
    return view[0] if view else None


class LiveOverlay(QObject):
    """Connect `show_activation` and `show_grad_norms` to the training panel's signals.
    Thumbnails are drawn for the selected nodes only and go when they are deselected."""

    def __init__(self, scene, view=None):
        super().__init__(scene)
        self.scene = scene
        self.thumbs: dict[str, QGraphicsPixmapItem] = {}
        self._latest: dict[str, np.ndarray] = {}
        self._dirty: set[str] = set()
        self._norms: dict[str, float] = {}
        self.legend = HeatLegend(view) if view is not None else None
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        scene.document.graph_replaced.connect(self.clear)
        scene.document.selection_changed.connect(self._selection_changed)

    def selected(self) -> list[str]:
        return list(self.scene.document.selected_ids)

    def show_activation(self, node_id: str, array) -> None:
        self._latest[node_id] = array
        if node_id in self.selected():
            self._dirty.add(node_id)
            self._schedule()

    def show_grad_norms(self, norms: dict) -> None:
        self._norms = dict(norms)
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _selection_changed(self, ids: list) -> None:
        for node_id in [n for n in self.thumbs if n not in ids]:
            self._remove_thumb(node_id)
        self._dirty |= {n for n in ids if n in self._latest}
        if self._dirty:
            self._schedule()

    def redraw(self) -> None:
        selected = set(self.selected())
        for node_id in self._dirty & selected:
            self._draw_thumb(node_id, self._latest[node_id])
        self._dirty.clear()
        colors = heat_colors(self._norms)
        names = {nid: n.name for nid, n in self.scene.document.graph.nodes.items()}
        for edge, item in self.scene.edges.items():
            norm = self._norms.get(edge.src)
            item.set_heat(colors.get(edge.src), norm, names.get(edge.src, edge.src))
        if self.legend is None:
            return
        if colors:
            finite = [v for v in self._norms.values() if v > 0 and math.isfinite(v)]
            self.legend.show_range(min(finite), max(finite))
        else:
            self.legend.hide()

    def _draw_thumb(self, node_id: str, array) -> None:
        node = self.scene.nodes.get(node_id)
        view = activation_view(array)
        if node is None or view is None:
            return
        image, text = view
        thumb = self.thumbs.get(node_id)
        if thumb is None or not isValid(thumb):  # deleted with its node or by a rebuild
            thumb = self.thumbs[node_id] = QGraphicsPixmapItem(node)
            caption = QGraphicsSimpleTextItem(thumb)
            font = QFont()
            font.setPixelSize(10)
            caption.setFont(font)
            thumb.caption = caption
        pixmap = QPixmap.fromImage(image).scaled(THUMB, 8 if image.height() == 1 else THUMB)
        thumb.setPixmap(pixmap)
        thumb.setToolTip(f"live activation of sample 0: {text}")
        thumb.caption.setText(text)
        thumb.caption.setBrush(QColor(canvas_colors().node_subtext))
        thumb.caption.setPos((pixmap.width() - thumb.caption.boundingRect().width()) / 2,
                             pixmap.height() + 1)
        rect = node.boundingRect()
        thumb.setPos(rect.left() + (rect.width() - pixmap.width()) / 2, rect.bottom() + 4)

    def _remove_thumb(self, node_id: str) -> None:
        thumb = self.thumbs.pop(node_id, None)
        if thumb is not None and isValid(thumb) and thumb.scene() is not None:
            thumb.scene().removeItem(thumb)

    def clear(self, *_args) -> None:
        """Drop thumbnails and wire tints (a new run starts, or another graph is opened)."""
        self._timer.stop()
        self._latest.clear()
        self._dirty.clear()
        self._norms = {}
        for node_id in list(self.thumbs):
            self._remove_thumb(node_id)
        for item in self.scene.edges.values():
            item.set_heat(None)
        if self.legend is not None:
            self.legend.hide()
