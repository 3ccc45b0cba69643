"""Draw to test: for an image classifier with a 1×8×8 or 1×28×28 input (flat 64 / 784 too),
draw a digit with the mouse and see, live, the class probabilities (a bar chart) and a layer's
feature maps for the drawing, computed with the document's weights. The drawing is scaled
like the training images (their raw value range, then the dataset's normalization).
Opened from the Feature maps view's "Draw to test…" button."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.project import ProjectError

from ..insight.mosaic import activation_tiles, mosaic, normalize_tiles, to_rgba
from ..theme import plot_colors, style_plots
from .draw_pad import DrawPad

SIDES = {(1, 8, 8): 8, (8, 8): 8, (64,): 8, (1, 28, 28): 28, (28, 28): 28, (784,): 28}


def why_not(document) -> str:
    """'' when the model is an image classifier the pad can feed, else one sentence why not."""
    graph = document.graph
    inputs = [n for n in graph.nodes.values() if n.type == "io.Input"]
    outputs = [n for n in graph.nodes.values() if n.type == "io.Output"]
    if len(inputs) != 1 or not outputs:
        return "Draw to test needs a model with one Input and an Output."
    shape = tuple(inputs[0].params.get("shape", ()))
    if shape not in SIDES or inputs[0].params.get("dtype", "float") != "float":
        got = "×".join(map(str, shape)) or "?"
        return (f"Draw to test needs an image classifier whose input is 1×8×8 or 1×28×28 "
                f"digits (this model's input is {got}).")
    report = document.report()
    if not report.ok:
        return "Fix the model's problems first: Draw to test runs it."
    out = report.in_types.get(outputs[0].id)
    if not out or len(out[0].shape) != 1 or out[0].shape[0] < 2:
        return "Draw to test needs a classifier: its output must be one score per class."
    return ""


class DrawTestDialog(QDialog):
    """Pad on the left; probabilities and the chosen layer's maps on the right."""

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Draw to test")
        self.document = document
        self.model = None
        self.probs: np.ndarray | None = None
        self.acts: np.ndarray | None = None
        self._key = None
        self._scale = (0.0, 1.0, None)     # raw background, raw ink, normalization
        self.class_names: list[str] = []
        self.pad = DrawPad()
        self.pad.changed.connect(self._later)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Erase the drawing.")
        self.clear_button.clicked.connect(self.pad.clear)
        self.hint = QLabel("Draw a digit with the mouse: the model's answer follows every "
                           "stroke.")
        self.hint.setWordWrap(True)
        self.seen = pg.ImageItem()
        self.answer = QLabel()
        self.answer.setStyleSheet("font-size: 13pt; font-weight: 600;")
        self.layer = QComboBox()
        self.layer.setToolTip("Which layer's output to show for the drawing.")
        self.layer.activated.connect(lambda _i: self.update_prediction())
        bg = plot_colors()[0]
        self.bars_plot = pg.PlotWidget(background=bg)
        self.bars_plot.setMouseEnabled(False, False)
        self.bars_plot.setYRange(0, 1)
        self.bars_plot.setLabel("left", "probability")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.bars_plot.addItem(self.bars)
        self.maps = pg.GraphicsLayoutWidget()
        self.maps.setBackground(bg)
        self.map_box = self.maps.addViewBox(lockAspect=True, invertY=True)
        self.map_box.setMouseEnabled(False, False)
        self.map_image = pg.ImageItem()
        self.map_box.addItem(self.map_image)
        self.seen_view = pg.GraphicsLayoutWidget()
        self.seen_view.setBackground(bg)
        self.seen_view.setFixedSize(96, 96)
        self.seen_view.setToolTip("What the model sees: the drawing averaged onto its input "
                                  "grid.")
        box = self.seen_view.addViewBox(lockAspect=True, invertY=True)
        box.setMouseEnabled(False, False)
        box.addItem(self.seen)
        self.cmap = pg.colormap.get("viridis")
        self._timer = QTimer(self, singleShot=True, interval=15)
        self._timer.timeout.connect(self.update_prediction)
        self._build_layout()
        style_plots(self)
        self.resize(1000, 600)

    def _build_layout(self) -> None:
        left = QVBoxLayout()
        left.addWidget(self.hint)
        left.addWidget(self.pad, 1)
        row = QHBoxLayout()
        row.addWidget(self.seen_view)
        row.addWidget(QLabel("what the\nmodel sees"))
        row.addStretch(1)
        row.addWidget(self.clear_button)
        left.addLayout(row)
        right = QGridLayout()
        right.addWidget(self.answer, 0, 0, 1, 2)
        right.addWidget(self.bars_plot, 1, 0, 1, 2)
        right.addWidget(QLabel("Feature maps of"), 2, 0)
        right.addWidget(self.layer, 2, 1)
        right.addWidget(self.maps, 3, 0, 1, 2)
        right.setRowStretch(1, 2)
        right.setRowStretch(3, 3)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 1)
        lay.addLayout(right, 1)

    # -- the model -----------------------------------------------------------------------------
    def refresh_model(self) -> str:
        """(Re)build the model from the document when it changed; '' or why it cannot."""
        reason = why_not(self.document)
        if reason:
            self.answer.setText(reason)
            self.model = None
            return reason
        doc = self.document
        key = (doc.undo_stack.index(), id(doc.graph.weights), id(doc.project))
        if key == self._key:
            return ""
        from engine.teach.plane_data import seeded_model

        seed = int(doc.project.training.get("seed", 0) or 0)
        try:
            self.model = seeded_model(doc.graph, doc.graph.weights, seed)
        except ProjectError as exc:   # a weights file found damaged when first read
            self.answer.setText(str(exc))
            self.model = None
            return str(exc)
        self.model.eval()
        self._key = key
        graph = doc.graph
        self.input_shape = tuple(next(n for n in graph.nodes.values()
                                      if n.type == "io.Input").params["shape"])
        side = SIDES[self.input_shape]
        if side != self.pad.side:
            self.pad.set_side(side)
        self._read_data_scale()
        self._fill_layers()
        self.trained = bool(graph.weights)
        return ""

    def _read_data_scale(self) -> None:
        """The raw value range of the training images and their normalization, so a stroke
        is as bright as a training digit's."""
        from engine.data import load_dataset
        from engine.data.prep import denormalize_inputs

        project = self.document.project
        try:
            splits = load_dataset(project.dataset, project.folder,
                                  input_shape=self.input_shape, input_dtype="float",
                                  allow_outside=project.allow_outside_data)
        except Exception:  # noqa: BLE001 - no data: draw in 0..1
            self._scale, self.class_names = (0.0, 1.0, None), []
            return
        x = np.asarray(splits.train.x[:512], np.float32)
        raw = denormalize_inputs(x, splits.normalization)
        self._scale = (float(raw.min()), float(raw.max()), splits.normalization)
        names = splits.class_names[0] if splits.class_names else None
        self.class_names = list(names or [])

    def _fill_layers(self) -> None:
        from engine.insight.compute import module_for

        graph = self.document.graph
        from ..training.views import layer_nodes

        current = self.layer.currentData()
        self.layer.clear()
        for nid, name in layer_nodes(self.document):
            if module_for(self.model, nid) is not None and graph.nodes[nid].type != "io.Output":
                self.layer.addItem(name, nid)
        first_conv = next((i for i in range(self.layer.count())
                           if graph.nodes[self.layer.itemData(i)].type.startswith("conv.")), 0)
        i = self.layer.findData(current)
        self.layer.setCurrentIndex(i if i >= 0 else first_conv)

    def model_input(self) -> np.ndarray:
        """The drawing as one input sample (the Input node's shape), scaled and normalized
        like the training data."""
        from engine.data.prep import normalize_inputs

        lo, hi, stats = self._scale
        raw = lo + self.pad.grid() * (hi - lo)
        return normalize_inputs(raw.reshape(self.input_shape), stats)

    # -- showing -------------------------------------------------------------------------------
    def _later(self) -> None:
        self._timer.start()

    def update_prediction(self) -> None:
        if self.refresh_model():            # another model now: nothing of the old one stays
            self.probs = self.acts = None
            self.bars.setOpts(x=[], height=[])
            self.map_image.clear()
            return
        from engine.insight import run_model
        from engine.insight.compute import softmax

        x = self.model_input()
        nid = self.layer.currentData()
        out, acts = run_model(self.model, x[None], [nid] if nid else [])
        scores = out.reshape(1, -1)
        last = self._last_layer_type()
        probs = scores if last == "act.Softmax" else np.exp(scores) \
            if last == "act.LogSoftmax" else softmax(scores)
        self.probs = probs[0]
        self.acts = acts.get(nid, [None])[0] if nid else None
        self._draw()

    def _last_layer_type(self) -> str:
        graph = self.document.graph
        out = next(n for n in graph.nodes.values() if n.type == "io.Output")
        edge = graph.edge_into(out.id, "in")
        return graph.nodes[edge.src].type if edge is not None else ""

    def _draw(self) -> None:
        p = self.probs
        names = self.class_names if len(self.class_names) == len(p) else \
            [str(k) for k in range(len(p))]
        best = int(np.argmax(p))
        brushes = [pg.mkBrush("#e8590c" if k == best else "#4c78a8") for k in range(len(p))]
        self.bars.setOpts(x=np.arange(len(p)), height=p, width=0.7, brushes=brushes)
        self.bars_plot.getAxis("bottom").setTicks([list(enumerate(names))])
        ink = float(self.pad.grid().max())
        untrained = "" if self.trained else "  (untrained weights: train first)"
        self.answer.setText(
            f"Prediction: {names[best]}  ({100 * p[best]:.0f} %){untrained}" if ink > 0 else
            f"Draw something{untrained}")
        seen = self.pad.grid()
        self.seen.setImage(np.ascontiguousarray(seen.T), levels=(0, 1))
        if self.acts is not None:
            tiles, kind = activation_tiles(self.acts)
            tiles = normalize_tiles(tiles) if kind != "units" else tiles
            img, _grid = mosaic(tiles, pad=1 if kind != "units" else 0)
            self.map_image.setImage(to_rgba(img, self.cmap, gap=(0, 0, 0, 0)), levels=None)
            self.map_box.autoRange(padding=0.01)
        else:
            self.map_image.clear()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.update_prediction()


class DrawTestLauncher(QObject):
    """The "Draw to test…" button in the Feature maps view's top bar: enabled for image
    classifiers the pad can feed, else disabled with a tooltip saying why."""

    TIP = ("Draw a digit with the mouse and see the model's probabilities and feature maps "
           "for it, live (with the current weights).")

    def __init__(self, views):
        super().__init__(views)
        self.views = views
        self.dialog: DrawTestDialog | None = None
        self.button = QPushButton("✎ Draw to test…")
        self.button.clicked.connect(self.open)
        views.feature_maps.top.addWidget(self.button)
        views.document.changed.connect(self._refresh_later)
        views.document.graph_replaced.connect(self.refresh)
        self.refresh()

    def _refresh_later(self, *_) -> None:
        self.views.document.later(self.refresh)   # not inside the graph's edit event

    def refresh(self, *_) -> None:
        reason = why_not(self.views.document)
        self.button.setEnabled(not reason)
        self.button.setToolTip(reason or self.TIP)
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.update_prediction()

    def open(self) -> DrawTestDialog | None:
        if why_not(self.views.document):
            return None
        if self.dialog is None:
            self.dialog = DrawTestDialog(self.views.document, self.views.window())
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog
