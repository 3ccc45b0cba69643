"""Training insight drawn on the canvas: a live thumbnail of a node's activation under the node,
and wires tinted by the gradient norm of the layer that feeds them (vanishing or exploding
gradients show as cold or hot wires)."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem
from shiboken6 import isValid

from ..theme import canvas_colors

THUMB = 48          # thumbnail size in scene pixels
HOT = QColor("#e4572e")
REDRAW_MS = 250     # wires and thumbnails update at most 4 times a second


def activation_image(array: np.ndarray) -> QImage | None:
    """Sample 0 of a node's output as a grayscale image: channel 0 of (C, H, W) or (C, L)
    feature maps, a heat strip for (F,) vectors. None for arrays with nothing to show."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim < 2 or a.shape[0] == 0:
        return None
    a = a[0]
    while a.ndim > 2:
        a = a[0]
    if a.ndim == 1:
        a = a[None, :]
    a = np.nan_to_num(a)
    lo, hi = float(a.min()), float(a.max())
    scaled = np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo)
    pixels = np.ascontiguousarray((scaled * 255).astype(np.uint8))
    h, w = pixels.shape
    return QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def heat_colors(norms: dict[str, float]) -> dict[str, QColor]:
    """Per node, a colour from the neutral wire colour (smallest norm) to HOT (largest), on a
    log scale over the norms given."""
    logs = {k: math.log10(v) for k, v in norms.items() if v > 0 and math.isfinite(v)}
    if not logs:
        return {}
    lo, hi = min(logs.values()), max(logs.values())
    cold = QColor(canvas_colors().wire)
    out = {}
    for node_id, value in logs.items():
        t = 1.0 if hi <= lo else (value - lo) / (hi - lo)
        out[node_id] = QColor.fromRgbF(
            cold.redF() + (HOT.redF() - cold.redF()) * t,
            cold.greenF() + (HOT.greenF() - cold.greenF()) * t,
            cold.blueF() + (HOT.blueF() - cold.blueF()) * t)
    return out


class LiveOverlay(QObject):
    """Connect `show_activation` and `show_grad_norms` to the training panel's signals."""

    def __init__(self, scene):
        super().__init__(scene)
        self.scene = scene
        self.thumbs: dict[str, QGraphicsPixmapItem] = {}
        self._activations: dict[str, np.ndarray] = {}
        self._norms: dict[str, float] = {}
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        scene.document.graph_replaced.connect(self.clear)

    def show_activation(self, node_id: str, array) -> None:
        self._activations[node_id] = array
        self._schedule()

    def show_grad_norms(self, norms: dict) -> None:
        self._norms = dict(norms)
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        for node_id, array in self._activations.items():
            self._draw_thumb(node_id, array)
        self._activations.clear()
        colors = heat_colors(self._norms)
        for edge, item in self.scene.edges.items():
            item.set_heat(colors.get(edge.src))

    def _draw_thumb(self, node_id: str, array) -> None:
        node = self.scene.nodes.get(node_id)
        image = activation_image(array)
        if node is None or image is None:
            return
        thumb = self.thumbs.get(node_id)
        if thumb is None or not isValid(thumb):  # deleted with its node or by a rebuild
            thumb = self.thumbs[node_id] = QGraphicsPixmapItem(node)
            thumb.setToolTip("live activation of sample 0 (channel 0)")
        pixmap = QPixmap.fromImage(image)
        wide = image.height() == 1
        pixmap = pixmap.scaled(THUMB, 8 if wide else THUMB)
        thumb.setPixmap(pixmap)
        rect = node.boundingRect()
        thumb.setPos(rect.left() + (rect.width() - pixmap.width()) / 2, rect.bottom() + 4)

    def clear(self, *_args) -> None:
        """Drop thumbnails and wire tints (a new run starts, or another graph is opened)."""
        self._timer.stop()
        self._activations.clear()
        self._norms = {}
        for thumb in self.thumbs.values():
            if isValid(thumb) and thumb.scene() is not None:
                thumb.scene().removeItem(thumb)
        self.thumbs.clear()
        for item in self.scene.edges.values():
            item.set_heat(None)
