"""The Units and weights tab: a small dense network (Linear layers of at most 32 inputs and outputs)
drawn as units and weights, live while a run trains. Clicking a weight (a line) or a bias (a
circle) shows its value; changing it is an undoable edit of the model's weights, and the next
run trains on from them."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.teach.dense import (
    WeightWatcher,
    dense_chains,
    drawable,
    small_layers,
    with_weight,
)
from studio.background import BackgroundCall, SettlesBackground

from ..canvas.unit_heatmaps import UNIT_COLORS
from ..theme import current_name
from ..training.commands import SetProjectSettingCommand
from .boundary_tab import LiveFeed
from .network_scene import NetworkScene, WeightRef
from .weight_command import START_FROM, EditWeightCommand

PICK = "Click a line (a weight) or a circle (a bias) to see and change it."


def _chain(graph, selected: list[str]) -> list:
    """The chain of Linear layers to draw: the one holding a selected layer, else the longest."""
    chains = dense_chains(graph)
    for chain in chains:
        if any(nid in selected for nid, _ in chain):
            return chain
    return chains[0] if chains else []


def _input_names(graph, first: str, count: int) -> list[str]:
    edges = graph.in_edges(first)
    src = graph.nodes[edges[0].src] if edges else None
    if src is not None and src.type == "io.Input":
        return [f"x{i + 1}" for i in range(count)]
    return [str(i + 1) for i in range(count)]


def _compute(token: int, project, seed: int, chain: list):
    from engine.insight.compute import node_weights
    from engine.teach.plane_data import seeded_model

    graph = project.graph
    weights = graph.weights or node_weights(seeded_model(graph, None, seed))
    layers = small_layers(graph, weights, chain)
    names = _input_names(graph, layers[0].node_id, layers[0].weight.shape[1]) if layers else []
    return token, weights, layers, names


class WeightFeed(LiveFeed):
    """Trainer-thread callback: copies of the shown layers' weights (`plane` carries their
    node ids)."""

    def make_watcher(self, trainer, _state, node_ids):
        return WeightWatcher(lambda: trainer.model, node_ids, self._send)


class NetworkView(QWidget, SettlesBackground):
    """`frame((step, weights))` is emitted from the trainer thread (queued)."""

    frame = Signal(object)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.layers: list = []
        self.weights: dict = {}          # all of the model's weights the view was drawn from
        self.running = False
        self.frames_shown = 0
        self._call: BackgroundCall | None = None
        self._token = 0
        self._stale = True
        self.feed = WeightFeed(self.frame.emit)
        self.frame.connect(self._show_frame, Qt.ConnectionType.QueuedConnection)
        self.scene = NetworkScene(self)
        self.scene.picked.connect(self._picked)
        self.view = QGraphicsView(self.scene)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setToolTip(PICK)
        for policy in (self.view.setHorizontalScrollBarPolicy,
                       self.view.setVerticalScrollBarPolicy):
            policy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)   # the picture is fitted instead
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.legend = QLabel()
        self.what = QLabel(PICK)
        self.what.setWordWrap(True)
        self.value = QDoubleSpinBox()
        self.value.setRange(-1000.0, 1000.0)
        self.value.setDecimals(4)
        self.value.setSingleStep(0.1)
        self.value.setEnabled(False)
        self.value.setToolTip("The picked number; a new value is an undoable edit of the "
                              "model's weights (Ctrl+Z restores it)")
        self.value.editingFinished.connect(self._edited)
        self.from_weights = QCheckBox("Train on from these weights")
        self.from_weights.setToolTip("Checked: Train continues from the weights shown (an "
                                     "edit checks it). Unchecked: a run starts from a fresh "
                                     "initialisation (the training seed).")
        self.from_weights.toggled.connect(self._start_from_toggled)
        edit = QHBoxLayout()
        edit.addWidget(self.what, 1)
        edit.addWidget(self.value)
        edit.addWidget(self.from_weights)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.legend)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addLayout(edit)
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self.refresh)
        document.undo_stack.indexChanged.connect(self.schedule)
        document.graph_replaced.connect(self.schedule)
        document.settings_changed.connect(self.schedule)
        document.selection_changed.connect(self._selection_changed)

    # -- the document's model -----------------------------------------------------------------
    @property
    def applicable(self) -> bool:
        """The model has a Linear layer small enough to draw."""
        report = self.document.report()
        return drawable(self.document.graph, report.in_types, report.out_types)

    def schedule(self, *_) -> None:
        """Redraw soon; a hidden view only notes it must (nothing runs, torch stays
        unloaded, until it is shown)."""
        self._show_start_from()
        self._stale = True
        if not self.running and self.isVisible():
            self._debounce.start()

    def _selection_changed(self, ids: list) -> None:
        chain = _chain(self.document.graph, list(ids))
        if [nid for nid, _ in chain][:1] and not any(
                layer.node_id in dict(chain) for layer in self.layers):
            self.schedule()

    def refresh(self) -> None:
        self._debounce.stop()
        self._show_start_from()
        if self.running:
            return
        self._stale = False
        self._token += 1
        doc = self.document
        chain = _chain(doc.graph, list(doc.selected_ids))
        if not chain:
            self._nothing("Not shown: this model has no Linear layer of at most 32 units "
                          "fed by another one or by the input.")
            return
        from engine.project import snapshot_project

        project = snapshot_project(doc.project)
        call = BackgroundCall(_compute, self._token, project,
                              int(project.training.get("seed", 0) or 0), chain)
        call.succeeded.connect(self._computed)
        call.failed.connect(lambda message, _tb="": self._nothing(
            f"The units cannot be drawn: {message}"))
        self._call = call
        call.start()

    def _nothing(self, text: str) -> None:
        self.layers, self.weights = [], {}
        self.scene.clear()
        self.scene.structure = ()
        self.scene.lines, self.scene.circles = {}, {}
        self.scene.halo = None
        self.status.setText(text)
        self.legend.clear()
        self._show_pick()

    def _computed(self, result) -> None:
        token, weights, layers, names = result
        if token != self._token or self.running:
            return
        if not layers:
            self._nothing("Not shown: the Linear layers of this model have more than 32 "
                          "inputs or outputs (too many lines to tell apart).")
            return
        self.weights, self.layers = weights, layers
        self._draw(names)
        source = "the model's weights" if self.document.graph.weights else \
            "a fresh initialisation (the training seed): press Train or Step"
        self.status.setText(f"{' → '.join(layer.name for layer in layers)}: {source}.")

    def _draw(self, names=None) -> None:
        selected = self.scene.selected
        self.scene.show_layers(self.layers, names or [])
        self.scene.select(selected)
        self.view.fitInView(self.scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._legend()
        self._show_pick()

    def _legend(self) -> None:
        neg, _zero, pos = UNIT_COLORS["dark" if current_name() == "dark" else "light"]
        self.legend.setText(
            f"<span style='color:{pos}'>━ positive</span> &nbsp;"
            f"<span style='color:{neg}'>━ negative</span> &nbsp;thicker: larger |w| "
            f"(up to {self.scene.w_max:.3g}) · circle: bias")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.layers:
            self.view.fitInView(self.scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    # -- picking and editing ------------------------------------------------------------------
    def _current(self, ref: WeightRef) -> float:
        layer = self.layers[ref.layer]
        return float((layer.weight if ref.key == "weight" else layer.bias)[ref.index])

    def _picked(self, _ref) -> None:
        self._show_pick()

    def _show_pick(self) -> None:
        ref = self.scene.selected
        if ref is None or ref.layer >= len(self.layers):
            self.what.setText(PICK)
            self.value.setEnabled(False)
            return
        name = self.layers[ref.layer].name
        where = f"{name}.{ref.key}[{', '.join(map(str, ref.index))}]"
        text = self.scene.describe(ref, self.layers).capitalize() + f" ({where})"
        if self.running:
            text += ": stop the run to change it"
        self.what.setText(text)
        self.value.blockSignals(True)
        self.value.setValue(self._current(ref))
        self.value.blockSignals(False)
        self.value.setEnabled(not self.running)

    def _edited(self) -> None:
        ref = self.scene.selected
        if ref is None or self.running or not self.weights:
            return
        value = round(self.value.value(), self.value.decimals())
        if abs(value - round(self._current(ref), self.value.decimals())) < 1e-12:
            return
        try:
            weights = with_weight(self.weights, ref.node_id, ref.key, ref.index, value)
        except ValueError as exc:
            self.document.error.emit(str(exc))
            return
        text = f"Set {self.layers[ref.layer].name}.{ref.key}" \
            f"[{', '.join(map(str, ref.index))}] to {value:g}"
        if self.document.try_push(EditWeightCommand(self.document, weights, text)):
            self.refresh()

    def _show_start_from(self) -> None:
        self.from_weights.blockSignals(True)
        self.from_weights.setChecked(
            self.document.project.training.get(START_FROM) == "weights")
        self.from_weights.blockSignals(False)
        self.from_weights.setEnabled(not self.running)

    def _start_from_toggled(self, on: bool) -> None:
        self.document.try_push(SetProjectSettingCommand(
            self.document, "training", (START_FROM,), "weights" if on else None,
            "Train on from the weights" if on else "Train from a fresh initialisation"))
        self._show_start_from()

    # -- live, while a run trains -------------------------------------------------------------
    def run_changed(self, running: bool, worker=None) -> None:
        self.running = running
        self._show_start_from()
        if running and self.layers:
            self.frames_shown = 0
            self.feed.start(worker, [layer.node_id for layer in self.layers])
            self.feed.enabled = self.isVisible()
        else:
            self.feed.end()
            if not running:
                self.schedule()
        self._show_pick()

    def _show_frame(self, frame) -> None:
        step, weights = frame
        if not self.running or not self.layers:
            return
        for layer in self.layers:
            tensors = weights.get(layer.node_id, {})
            if tensors.get("weight") is not None and \
                    tensors["weight"].shape == layer.weight.shape:
                layer.weight = tensors["weight"]
                if layer.bias is not None and tensors.get("bias") is not None:
                    layer.bias = tensors["bias"]
        self.frames_shown += 1
        self._draw()
        if step is not None:
            self.status.setText(f"Training: the weights after step {step}.")

    def showEvent(self, event) -> None:
        self.feed.enabled = True
        super().showEvent(event)
        if self._stale:
            self.schedule()

    def hideEvent(self, event) -> None:
        self.feed.enabled = False
        super().hideEvent(event)
