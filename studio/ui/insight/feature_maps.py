"""Feature maps of a picked layer as an image grid (one tile per channel), refreshed live from
the trainer's activation snapshots; first-layer filters as images; dense layers as a heat
strip. The whole grid is one ImageItem (one texture upload per refresh)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from .lazy import BuiltWhenShown
from .mosaic import activation_tiles, filter_tiles, mosaic, normalize_tiles, to_rgba


class FeatureMapView(BuiltWhenShown, QWidget):
    """`set_layers([(node_id, name)])`, then `show_activation(node_id, array)` (live: the
    array's first dim is the fixed sample) or `set_offline(acts, weights)` after a run.
    `layer_chosen(node_id)` asks the owner to watch that node. The image view is made, and
    the chosen layer drawn, when the view is shown (lazy.py)."""

    layer_chosen = Signal(str)
    pixel_clicked = Signal(str, int, object)    # node id, sample, (channel, row, col) | (unit,)
    EMPTY = "Pick a layer (or select a node on the canvas)."
    CLICK_HINT = "  ·  click a pixel to see how it is computed"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layers: list | None = None   # what the layer list shows
        self.layer = QComboBox()
        self.layer.activated.connect(lambda _i: self._layer_activated())
        self.mode = QComboBox()
        self.mode.addItem("activations", "activations")
        self.mode.addItem("filters (weights)", "filters")
        self.mode.activated.connect(lambda _i: self.redraw())
        self.sample = QSpinBox()
        self.sample.setPrefix("sample ")
        self.sample.valueChanged.connect(lambda _v: self.redraw())
        self.info = QLabel(self.EMPTY)
        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        top.addWidget(self.layer, 1)
        top.addWidget(self.mode)
        top.addWidget(self.sample)
        self.clickable = lambda _node_id: False    # set by the owner: can it explain this?
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.top = top     # others add their tools here (the Draw-to-test button)
        lay.addLayout(top)
        lay.addWidget(self.info)
        self.node_id: str | None = None
        self.live: dict[str, np.ndarray] = {}      # node_id -> (samples, ...)
        self.offline: dict[str, np.ndarray] = {}
        self.weights: dict[str, dict[str, np.ndarray]] = {}
        self.tile_count = 0
        self.grid = (0, 0)
        self.tile_hw = (0, 0)
        self.kind = ""
        self._fitted = None       # the mosaic's shape the view was last fitted to

    def _build(self) -> None:
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.box = self.view.addViewBox(lockAspect=True, invertY=True)
        self.box.setMouseEnabled(False, False)
        self.image = pg.ImageItem()
        self.view.scene().sigMouseClicked.connect(self._clicked)
        self.cmap = pg.colormap.get("viridis")
        self.box.addItem(self.image)
        self.layout().insertWidget(1, self.view, 1)

    # -- inputs --------------------------------------------------------------------------------
    def set_layers(self, layers: list[tuple[str, str]]) -> None:
        if layers == self._layers:
            return  # every edit asks; refilling a 1,000-entry list each time is ~0.1 s
        self._layers = list(layers)
        current = self.node_id
        self.layer.blockSignals(True)
        self.layer.clear()
        for nid, name in layers:
            self.layer.addItem(name, nid)
        i = self.layer.findData(current)
        self.layer.setCurrentIndex(i if i >= 0 else -1)
        self.layer.blockSignals(False)
        if i < 0:
            self.node_id = None

    def choose(self, node_id: str) -> None:
        """Show this layer (e.g. the node selected on the canvas)."""
        i = self.layer.findData(node_id)
        if i < 0:
            return
        self.layer.setCurrentIndex(i)
        self._layer_activated()

    def _layer_activated(self) -> None:
        self.node_id = self.layer.currentData()
        if self.node_id:
            self.layer_chosen.emit(self.node_id)
        self.redraw()

    def show_activation(self, node_id: str, array, filters=None) -> None:
        """A live snapshot of the node's output on the fixed sample (and its filters, for
        conv and RBM layers)."""
        if array is None:
            return
        self.live[node_id] = np.asarray(array)
        if filters is not None:
            self.weights[node_id] = {"weight": np.asarray(filters)}
        if node_id == self.node_id:
            self.redraw()

    def clear(self) -> None:
        """Forget every activation and weight (another project was opened)."""
        self.live, self.offline, self.weights = {}, {}, {}
        self.node_id = None
        self.layer.clear()
        self._blank(self.EMPTY)

    def set_offline(self, activations: dict, weights: dict) -> None:
        self.offline = dict(activations)
        self.weights.update(weights)
        self.redraw()

    # -- drawing -------------------------------------------------------------------------------
    def current_array(self) -> np.ndarray | None:
        if self.node_id is None:
            return None
        return self.live.get(self.node_id, self.offline.get(self.node_id))

    def redraw(self) -> None:
        """Draw the chosen layer now, or when the view is next shown."""
        self._changed()

    def _render(self) -> None:
        nid = self.node_id
        if nid is None:
            return
        name = self.layer.currentText()
        if self.mode.currentData() == "filters":
            tensors = self.weights.get(nid, {})
            w = tensors.get("weight")
            if w is None and tensors.get("W") is not None:   # RBM: (visible, hidden)
                w = np.asarray(tensors["W"]).T
            if w is None:
                self._blank(f"{name}: no weights to show (not trained yet, or no kernel)")
                return
            try:
                tiles = filter_tiles(w)
            except ValueError as exc:
                self._blank(str(exc))
                return
            self._draw(normalize_tiles(tiles), "filters", f"{name}: {len(tiles)} filters of "
                       f"{'×'.join(map(str, np.shape(w)[1:]))}")
            return
        a = self.current_array()
        if a is None:
            self._blank(f"{name}: waiting for activations (press Train)")
            return
        self.sample.setMaximum(max(0, len(a) - 1))
        sample = a[min(self.sample.value(), len(a) - 1)]
        tiles, kind = activation_tiles(sample)
        shape = "×".join(map(str, sample.shape))
        what = {"maps": f"{len(tiles)} channels of {tiles.shape[1]}×{tiles.shape[2]}",
                "sequences": f"{len(tiles)} channels over {tiles.shape[2]} steps",
                "units": f"{sample.size} units (heat strip)"}[kind]
        tiles = normalize_tiles(tiles) if kind != "units" else tiles
        hint = self.CLICK_HINT if self.clickable(nid) else ""
        self._draw(tiles, kind, f"{name}: output {shape} — {what}{hint}")
        self.view.setToolTip("Click a pixel (or unit) to see the arithmetic that computed it."
                             if hint else "")

    def _draw(self, tiles: np.ndarray, kind: str, text: str) -> None:
        img, self.grid = mosaic(tiles, pad=1 if kind != "units" else 0)
        self.tile_hw = tiles.shape[1:]
        self.tile_count = len(tiles) if kind != "units" else int(np.isfinite(img).sum())
        self.kind = kind
        self.image.setImage(to_rgba(img, self.cmap), levels=None)
        if img.shape != self._fitted:     # a live refresh of the same layer: same size
            self._fitted = img.shape
            self.box.autoRange(padding=0.01)
        self.info.setText(text)

    def position_at(self, col: float, row: float) -> tuple[int, ...] | None:
        """The output position under image pixel (col, row) of the mosaic: (channel, row,
        col) of a map, (unit,) of a heat strip; None between tiles or outside."""
        if self.tile_count == 0 or self.mode.currentData() != "activations":
            return None
        r, c = int(np.floor(row)), int(np.floor(col))
        if self.kind == "units":
            width = self.tile_hw[1]
            unit = r * width + c
            ok = 0 <= r < self.tile_hw[0] and 0 <= c < width and unit < self.tile_count
            return (unit,) if ok else None
        if self.kind != "maps":
            return None
        (h, w), cols = self.tile_hw, self.grid[1]
        (tr, i), (tc, j) = divmod(r, h + 1), divmod(c, w + 1)
        channel = tr * cols + tc
        if r < 0 or c < 0 or i >= h or j >= w or tc >= cols or channel >= self.tile_count:
            return None
        return channel, i, j

    def _clicked(self, ev) -> None:
        if self.node_id is None or not self.clickable(self.node_id):
            return
        p = self.image.mapFromScene(ev.scenePos())
        at = self.position_at(p.x(), p.y())
        if at is not None:
            self.pixel_clicked.emit(self.node_id, self.sample.value(), at)

    def _blank(self, text: str) -> None:
        if self.built:
            self.image.clear()
        self._fitted = None
        self.tile_count = 0
        self.grid = (0, 0)
        self.info.setText(text)
