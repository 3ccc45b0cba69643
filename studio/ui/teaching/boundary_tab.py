"""The Decision boundary tab: the model's decision regions over the input plane of a model with
a 2-number input, under its training and validation points. Idle, it shows the document's
model (its weights, or a fresh initialisation); while a run trains, frames come from a
BoundaryWatcher on the trainer thread (capped rate, only while the tab is visible). Noise and
validation-share controls edit the dataset (undoable)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.data import CATALOGUE
from engine.teach import BoundaryWatcher, load_plane_data, project_regions, two_d_input
from studio.background import BackgroundCall, SettlesBackground

from ..training.commands import SetProjectSettingCommand

EXPLAIN = ("Colour: the class the model predicts at each point of the input plane (paler where "
           "it is unsure; the line is the 50 % boundary). Dots: training samples; rings: "
           "validation samples.")


def _snapshot(project):
    from engine.project import snapshot_project

    return snapshot_project(project)


def _compute(token: int, project, seed: int):
    data = load_plane_data(project)
    regions = project_regions(project.graph, project.graph.weights, data.plane, data.loss,
                              seed)
    return token, data, regions


class LiveFeed:
    """A trainer callback (it runs on the trainer thread): hands the run's events to a
    BoundaryWatcher made once the trainer has built its model."""

    def __init__(self, emit):
        self.emit = emit
        self.worker = None
        self.plane = None
        self.enabled = False
        self.watcher: BoundaryWatcher | None = None

    def start(self, worker, plane) -> None:
        self.watcher, self.worker, self.plane = None, worker, plane

    def end(self) -> None:
        self.worker = None

    def __call__(self, event) -> None:
        worker, plane = self.worker, self.plane
        if worker is None or plane is None or not self.enabled:
            return
        if self.watcher is None:
            trainer = getattr(worker, "trainer", None)
            state = getattr(trainer, "state", None)
            if state is None:
                return
            self.watcher = self.make_watcher(trainer, state, plane)
        self.watcher(event)

    def make_watcher(self, trainer, state, plane):
        """The watcher that computes the frames (other teaching views draw other ones)."""
        return BoundaryWatcher(lambda: trainer.model, plane, state.losses[0], self._send)

    def _send(self, regions) -> None:
        try:
            self.emit(regions)
        except RuntimeError:       # the tab is gone (the window closed mid-run)
            self.worker = None


class BoundaryTab(QWidget, SettlesBackground):
    """`frame(Regions)` is emitted from the trainer thread (queued to the GUI thread)."""

    frame = Signal(object)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.data = None                 # PlaneData of the shown dataset
        self.running = False
        self.frames_shown = 0
        self._call: BackgroundCall | None = None
        self._token = 0
        self.feed = LiveFeed(self.frame.emit)
        self.frame.connect(self._show_frame, Qt.ConnectionType.QueuedConnection)
        from .boundary_plot import BoundaryPlot  # pyqtgraph: not before the first paint

        self.plot = BoundaryPlot()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0.0, 2.0)
        self.noise.setSingleStep(0.05)
        self.noise.setDecimals(2)
        self.noise.setToolTip("The synthetic dataset's noise: the standard deviation added to "
                              "every point (undoable)")
        self.noise.editingFinished.connect(self._noise_edited)
        self.val_share = QSpinBox()
        self.val_share.setRange(0, 80)
        self.val_share.setSingleStep(5)
        self.val_share.setSuffix(" %")
        self.val_share.setToolTip("The share of the samples held out for validation (rings); "
                                  "the rest train the model (dots). Undoable.")
        self.val_share.editingFinished.connect(self._share_edited)
        self.plot.setToolTip(EXPLAIN)
        self.setToolTip(EXPLAIN)
        row = QHBoxLayout()
        row.addWidget(QLabel("Noise"))
        row.addWidget(self.noise)
        row.addSpacing(8)
        row.addWidget(QLabel("Validation share"))
        row.addWidget(self.val_share)
        row.addSpacing(8)
        row.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        lay.addWidget(self.plot, 1)
        lay.addLayout(row)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.refresh)
        document.undo_stack.indexChanged.connect(self.schedule)
        document.graph_replaced.connect(self.schedule)
        document.settings_changed.connect(self.schedule)
        self.refresh()

    # -- showing the document's model ---------------------------------------------------------
    @property
    def applicable(self) -> bool:
        return two_d_input(self.document.graph) is None

    def schedule(self, *_) -> None:
        self._show_controls()          # undo / redo show at once
        if not self.running:
            self._debounce.start()

    def refresh(self) -> None:
        """Recompute the regions of the document's model (off the GUI thread)."""
        self._show_controls()
        if self.running:
            return
        why = two_d_input(self.document.graph)
        if why:
            self._token += 1
            self.data = None
            self.plot.clear_all()
            self.status.setText(f"Not shown: {why}.")
            return
        self._token += 1
        token = self._token
        project = _snapshot(self.document.project)
        self.status.setText("Computing the decision regions…")
        call = BackgroundCall(_compute, token, project,
                              int(project.training.get("seed", 0) or 0))
        call.token = token
        # bound methods: Qt drops the delivery when this tab is gone before the result
        call.succeeded.connect(self._computed)
        call.failed.connect(self._failed)
        self._call = call
        call.start()

    def _computed(self, result) -> None:
        token, data, regions = result
        if token != self._token or self.running:
            return
        self.data = data
        self.plot.show_points((data.train_x, data.train_y), (data.val_x, data.val_y),
                              data.class_names)
        self.plot.show_regions(regions)
        weights = "the trained weights" if self.document.graph.weights else \
            "a fresh initialisation: press Train or Step"
        self.status.setText(f"{len(data.train_x)} training (dots), {len(data.val_x)} "
                            f"validation (rings) samples; {weights}.")

    def _failed(self, message: str, _tb: str = "") -> None:
        call = self.sender()
        if getattr(call, "token", None) == self._token:
            self.plot.clear_all()
            self.status.setText(f"The decision regions cannot be drawn: {message}")

    # -- live, while a run trains -------------------------------------------------------------
    def run_changed(self, running: bool, worker=None) -> None:
        self.running = running
        self._show_controls()
        if running and self.data is not None and self.applicable:
            self.frames_shown = 0
            self.feed.start(worker, self.data.plane)
            self.feed.enabled = self.isVisible()
        else:
            self.feed.end()
            if not running:
                self.schedule()

    def _show_frame(self, regions) -> None:
        if not self.running or self.data is None or regions.plane != self.data.plane:
            return
        self.frames_shown += 1
        self.plot.show_regions(regions)
        if regions.step is not None:
            self.status.setText(f"Training: the regions after step {regions.step}.")

    def showEvent(self, event) -> None:
        self.feed.enabled = True
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        self.feed.enabled = False     # no work on the trainer thread for a hidden view
        super().hideEvent(event)

    # -- dataset controls ---------------------------------------------------------------------
    def _show_controls(self) -> None:
        ds = self.document.project.dataset
        info = CATALOGUE.get(ds.get("name", "")) if ds.get("source") == "synthetic" else None
        has_noise = info is not None and "noise" in info.options
        self.noise.setEnabled(has_noise and not self.running)
        self.noise.blockSignals(True)
        self.noise.setValue(float(ds.get("noise", info.options["noise"])) if has_noise else 0)
        self.noise.blockSignals(False)
        self.val_share.setEnabled(not self.running and self.applicable)
        self.val_share.blockSignals(True)
        self.val_share.setValue(round(100 * float(ds.get("val_split", 0.2))))
        self.val_share.blockSignals(False)

    def _edit(self, key: str, value, text: str) -> None:
        ds = self.document.project.dataset
        if ds.get(key) == value:
            return
        if not self.document.try_push(SetProjectSettingCommand(self.document, "dataset",
                                                               (key,), value, text)):
            self._show_controls()

    def _noise_edited(self) -> None:
        self._edit("noise", round(self.noise.value(), 4), "Set the dataset's noise")

    def _share_edited(self) -> None:
        self._edit("val_split", self.val_share.value() / 100, "Set the validation share")
