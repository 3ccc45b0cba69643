"""The Training tab: settings (dataset, optimizer, loss, ...) on the left; run controls,
progress, live curves and insight views on the right. Training runs on a background thread
(studio.worker); while a run is active the document is locked and a banner says so."""
from __future__ import annotations

import copy
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.project import Project
from studio.ui.insight.compute import compute_insight
from studio.ui.insight.confusion import ConfusionView
from studio.ui.insight.embeddings import EmbeddingView
from studio.ui.insight.feature_maps import FeatureMapView
from studio.ui.insight.gradients import GradientView
from studio.ui.insight.pca import PCAView
from studio.ui.insight.predictions import PredictionsView
from studio.ui.insight.reconstructions import ReconstructionView
from studio.ui.plots.curves import LiveCurves
from studio.ui.runs import RunsPanel
from studio.worker import TrainingWorker

from .background import BackgroundCall
from .dataset import DatasetPicker
from .settings import TrainingSettings, check_training

BANNER_STYLE = ("background:#fff4d6; color:#6b4e00; border:1px solid #e8c46a; "
                "border-radius:4px; padding:4px 8px;")
ERROR_STYLE = ("background:#fde8e8; color:#8a1c1c; border:1px solid #e6a0a0; "
               "border-radius:4px; padding:4px 8px;")


def _fmt_time(seconds) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


def snapshot_project(project: Project) -> Project:
    """A copy the trainer thread can read while the user looks at (locked) settings."""
    graph = project.graph.copy()
    return Project(graph, copy.deepcopy(project.dataset), copy.deepcopy(project.training),
                   copy.deepcopy(project.view), copy.deepcopy(project.meta), project.path)


class ErrorBox(QFrame):
    """A run's error: one sentence, the node to blame, and the traceback on demand."""

    show_node = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet(f"ErrorBox {{{ERROR_STYLE}}}")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.node_button = QPushButton("Show node")
        self.node_button.clicked.connect(lambda: self.show_node.emit(self.node_id or ""))
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(120)
        self.details.hide()
        self.details_button.toggled.connect(self.details.setVisible)
        close = QPushButton("✕")
        close.setFixedWidth(26)
        close.clicked.connect(self.hide)
        row = QHBoxLayout()
        row.addWidget(self.text, 1)
        row.addWidget(self.node_button)
        row.addWidget(self.details_button)
        row.addWidget(close)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(row)
        lay.addWidget(self.details)
        self.node_id: str | None = None
        self.hide()

    def show_error(self, message: str, node_id: str | None = None, details: str = "") -> None:
        self.text.setText(f"<b>Training stopped:</b> {message}")
        self.node_id = node_id
        self.node_button.setVisible(bool(node_id))
        self.details.setPlainText(details)
        self.details_button.setVisible(bool(details))
        self.show()


class TrainingPanel(QWidget):
    """Signals for the rest of the app:
      node_highlight(str)        a node to point at (the cause of an error)
      running_changed(bool)      a run started / ended (document.locked follows it)
      activations(str, object)   node_id, numpy array (first dim = sample) — live snapshots
      grad_norms(dict)           {node_id: gradient L2 norm} — latest, at most 30/s
      run_finished(dict)         the `finished` data (run_dir, best, ...)
    """

    node_highlight = Signal(str)
    running_changed = Signal(bool)
    activations = Signal(str, object)
    grad_norms = Signal(dict)
    run_finished = Signal(dict)

    def __init__(self, document, parent: QWidget | None = None, trainer_factory=None):
        super().__init__(parent)
        self.document = document
        self.trainer_factory = trainer_factory
        self.extra_callbacks: list = []     # called on the trainer thread (tests, benches)
        self.overrides: dict = {}
        self.worker: TrainingWorker | None = None
        self.last_worker: TrainingWorker | None = None
        self.insight = None
        self._insight_call: BackgroundCall | None = None
        self._run_meta: dict = {}
        self._pca_key = None
        self._last_progress = float("-inf")
        self._pca_call: BackgroundCall | None = None
        if not hasattr(document, "locked"):
            document.locked = False
        self._build()
        self._connect_document()
        self._refresh_layers()
        self._set_running(False)
        self.show_latest_run()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.dataset = DatasetPicker(self.document)
        self.settings = TrainingSettings(self.document)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(4, 4, 4, 4)
        lv.addWidget(self.dataset)
        lv.addWidget(self.settings)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        scroll.setMinimumWidth(330)

        self.train_button = QPushButton("▶ Train")
        self.train_button.setToolTip("Start training (Ctrl+Enter)")
        self.train_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.pause)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)      # whole percents: fewer progress-bar repaints
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.status = QLabel("Ready.")
        controls = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.resume_button, self.stop_button):
            controls.addWidget(b)
        controls.addWidget(self.progress, 1)
        self.banner = QLabel("Training in progress: the graph is locked. Stop the run to edit "
                             "the model.")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.hide()
        self.error = ErrorBox()
        self.error.show_node.connect(self.highlight)

        self.curves = LiveCurves()
        self.feature_maps = FeatureMapView()
        self.feature_maps.layer_chosen.connect(lambda _nid: self._update_watch())
        self.confusion = ConfusionView()
        self.predictions = PredictionsView()
        self.reconstructions = ReconstructionView()
        self.pca = PCAView()
        self.gradients = GradientView()
        self.embeddings = EmbeddingView()
        self.runs = RunsPanel(self.document)
        self.runs.overlays_changed.connect(self.curves.set_overlays)
        self.runs.tree.itemDoubleClicked.connect(
            lambda item, _c: self.show_run(Path(item.data(0, Qt.ItemDataRole.UserRole))))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for w, name in ((self.curves, "Curves"), (self.feature_maps, "Feature maps"),
                        (self.confusion, "Confusion matrix"),
                        (self.predictions, "Predictions"),
                        (self.reconstructions, "Reconstructions"), (self.pca, "PCA"),
                        (self.gradients, "Gradients"), (self.embeddings, "Embeddings"),
                        (self.runs, "Runs")):
            self.tabs.addTab(w, name)
        self.tabs.currentChanged.connect(self._tab_changed)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(4, 4, 4, 4)
        rv.addWidget(self.banner)
        rv.addWidget(self.error)
        rv.addLayout(controls)
        rv.addWidget(self.status)
        rv.addWidget(self.tabs, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 900])
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    def _connect_document(self) -> None:
        doc = self.document
        doc.undo_stack.indexChanged.connect(self._refresh_settings)
        for name in ("graph_replaced", "changed"):
            sig = getattr(doc, name, None)
            if sig is not None:
                sig.connect(self._refresh_layers)
        if hasattr(doc, "graph_replaced"):
            doc.graph_replaced.connect(self._document_replaced)
        if hasattr(doc, "selection_changed"):
            doc.selection_changed.connect(self._selection_changed)

    def _disconnect_document(self) -> None:
        doc = self.document
        pairs = [(doc.undo_stack.indexChanged, self._refresh_settings)]
        for name, slot in (("graph_replaced", self._refresh_layers),
                           ("changed", self._refresh_layers),
                           ("graph_replaced", self._document_replaced),
                           ("selection_changed", self._selection_changed)):
            if hasattr(doc, name):
                pairs.append((getattr(doc, name), slot))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for signal, slot in pairs:
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass

    def _document_replaced(self, *_):
        self._refresh_settings()
        self.runs.refresh()
        self.insight = None
        self.show_latest_run()

    # -- earlier runs ----------------------------------------------------------------------------
    def show_latest_run(self) -> None:
        runs = self.runs.run_dirs()
        if runs and self.worker is None:
            self.show_run(runs[-1])

    def show_run(self, run_dir: Path) -> None:
        """Show a finished run's per-epoch curves (from its metrics.jsonl)."""
        from studio.ui.runs import read_metrics
        if self.worker is not None:
            return
        rows = read_metrics(run_dir)
        self.curves.start_run(1)
        for row in rows:
            if "epoch" in row:
                self.curves.add_epoch(row)
        self.curves.redraw(force=True)
        self.status.setText(f"Showing {run_dir.name}: {len(rows)} epoch(s). Press Train for a "
                            f"new run.")

    def _tab_changed(self, _index: int) -> None:
        if self.insight is None and self.tabs.currentWidget() in (
                self.confusion, self.predictions, self.pca, self.reconstructions,
                self.feature_maps, self.gradients):
            self.insight_from_saved_weights()
        self._maybe_pca()

    def insight_from_saved_weights(self) -> bool:
        """Insight views for a reopened project: its saved weights on its validation data
        (computed off the GUI thread). False when there is nothing to show."""
        doc = self.document
        if self.worker is not None or not doc.graph.weights or self._insight_call is not None:
            return False
        if not doc.report().ok:
            return False
        graph, weights = doc.graph.copy(), doc.graph.weights
        dataset, folder = copy.deepcopy(doc.project.dataset), doc.project.folder
        ids = [nid for nid, _ in self._layer_nodes()]
        inputs = [n for n in graph.nodes.values() if n.spec.role == "input"]
        if not inputs:
            return False
        shape = tuple(inputs[0].params.get("shape", ()))
        dtype = inputs[0].params.get("dtype", "float")

        def work():
            from engine.data import load_dataset
            from studio.ui.insight.compute import build_model
            splits = load_dataset(dataset, folder, shape, dtype)
            return compute_insight(build_model(graph, weights), splits, ids)

        self.status.setText("Computing insight views from the saved weights…")
        self._start_insight(work)
        return True

    def _refresh_settings(self, *_) -> None:
        self.settings.refresh()
        self.dataset.refresh()

    def _layer_nodes(self) -> list[tuple[str, str]]:
        try:
            order = self.document.report().order
        except Exception:  # noqa: BLE001 - an invalid graph: fall back to insertion order
            order = list(self.document.graph.nodes)
        nodes = self.document.graph.nodes
        return [(nid, nodes[nid].name) for nid in order
                if nid in nodes and nodes[nid].spec.role == "layer"]

    def _refresh_layers(self, *_) -> None:
        layers = self._layer_nodes()
        self.feature_maps.set_layers(layers)
        if self.feature_maps.node_id is None and layers:
            self.feature_maps.choose(layers[0][0])

    def _selection_changed(self, ids: list) -> None:
        if len(ids) == 1:
            self.feature_maps.choose(ids[0])
        self._update_watch()

    def _update_watch(self) -> None:
        watched = [self.feature_maps.node_id] if self.feature_maps.node_id else []
        for nid in getattr(self.document, "selected_ids", []) or []:
            if nid not in watched and nid in self.document.graph.nodes:
                watched.append(nid)
        if self.worker is not None:
            self.worker.watch(watched)
        self._maybe_pca()
        return watched

    # -- run control -----------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.worker is not None

    def start(self) -> bool:
        """Validate and start a run in the background. False (with the reason shown) when
        the graph or the settings are invalid or a run is already active."""
        if self.worker is not None:
            return False
        self.error.hide()
        report = self.document.report()
        if not report.ok:
            first = report.errors[0]
            self.show_error(f"the model has {len(report.errors)} problem(s): {first.message}",
                            first.node_id)
            return False
        reason = check_training(self.document.project.training)
        if reason:
            self.show_error(reason)
            return False
        project = snapshot_project(self.document.project)
        overrides = dict(self.overrides)
        if project.path is None and "run_dir" not in overrides:
            run_dir = Path(tempfile.mkdtemp(prefix="studio-run-"))
            overrides["run_dir"] = str(run_dir)
            self.runs.extra_dirs.append(run_dir)
        worker = TrainingWorker(project, device=project.training.get("device", "auto"),
                                overrides=overrides, factory=self.trainer_factory,
                                extra_callbacks=self.extra_callbacks, parent=self)
        worker.started.connect(self._on_started)
        worker.batches.connect(self.curves.add_batches)
        worker.progress.connect(self._on_progress)
        worker.epoch_end.connect(self._on_epoch)
        worker.snapshot.connect(lambda d: self.feature_maps.show_activation(d["node_id"], d))
        worker.activations.connect(self.activations)
        worker.grad_norms.connect(self.grad_norms)
        worker.grad_norms.connect(self.gradients.add_norms)
        worker.state_changed.connect(self._on_state)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        self.worker = worker
        names = {nid: n.name for nid, n in self.document.graph.nodes.items()}
        self.gradients.reset(names)
        self.curves.start_run(None)
        self.feature_maps.live.clear()
        self._run_meta = {}
        self._update_watch()
        self._set_running(True)
        self.status.setText("Loading data and building the model…")
        worker.start()
        return True

    def stop(self) -> None:
        if self.worker is not None:
            self.status.setText("Stopping after this batch…")
            self.worker.stop()

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.pause()

    def resume(self) -> None:
        if self.worker is not None:
            self.worker.resume()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop an active run and wait for its thread (closing the window, tests)."""
        worker = self.worker
        if worker is not None:
            worker.stop()
            worker.wait(timeout_ms)
            worker.drain()
        if self._insight_call is not None:
            self._insight_call.wait(timeout_ms)
        self._disconnect_document()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    LOCK_MESSAGE = "a training run is active: stop it to edit the model"

    def _lock_document(self, on: bool) -> None:
        """`document.locked` is the flag the editor checks. Until Document refuses edits by
        itself, its push/try_push are guarded here while a run is active (the trainer works
        on a snapshot either way, so an edit can never corrupt the run)."""
        doc = self.document
        doc.locked = on
        if getattr(type(doc), "refuses_edits_when_locked", False):
            return
        if on and "push" not in vars(doc):
            original_push = doc.push

            def push(command, _original=original_push):
                if getattr(doc, "locked", False):
                    raise ValueError(self.LOCK_MESSAGE)
                return _original(command)

            doc.push = push
        elif not on and "push" in vars(doc):
            del doc.push

    def _set_running(self, running: bool) -> None:
        self._lock_document(running)
        self.banner.setVisible(running)
        self.train_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        state = self.worker.state if self.worker else "idle"
        self.pause_button.setEnabled(running and state != "paused")
        self.resume_button.setEnabled(running and state == "paused")
        self.settings.setEnabled(not running)
        self.dataset.setEnabled(not running)
        self.running_changed.emit(running)

    # -- worker signals --------------------------------------------------------------------------
    def _on_started(self, data: dict) -> None:
        self._run_meta = dict(data)
        losses = data.get("losses") or []
        self.curves.start_run(data.get("steps_per_epoch"), data.get("epochs"),
                              data.get("metrics") or [] if len(losses) <= 1 else [])
        self.status.setText(f"Training on {data.get('device', '?')}: "
                            f"{data.get('train_size', '?')} training samples, "
                            f"{data.get('val_size', '?')} validation"
                            + (f" — run folder {Path(data['run_dir']).name}"
                               if data.get("run_dir") else ""))

    PROGRESS_INTERVAL_S = 0.25   # the progress bar repaints synchronously: ~4 times a second

    def _on_progress(self, b: dict) -> None:
        now = time.monotonic()
        if now - self._last_progress < self.PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        epochs = self._run_meta.get("epochs") or 1
        spe = self._run_meta.get("steps_per_epoch") or 1
        done = (b.get("epoch", 1) - 1) * spe + b.get("step", 0)
        self.progress.setValue(int(100 * min(1.0, done / max(1, epochs * spe))))
        self.progress.setFormat(
            f"epoch {b.get('epoch', '?')}/{epochs} · step {b.get('step', '?')}/{spe} · "
            f"{b.get('samples_per_s', 0):,.0f} samples/s · ETA {_fmt_time(b.get('eta_s'))}")

    def _on_epoch(self, data: dict) -> None:
        self.curves.add_epoch(data)
        parts = [f"epoch {data['epoch']}: loss {data.get('loss', float('nan')):.4g}"]
        for k, v in data.items():
            if k.startswith("val_") and isinstance(v, (int, float)):
                parts.append(f"{k} {v:.4g}")
        self.status.setText(" · ".join(parts))

    def _on_state(self, state: str) -> None:
        if self.worker is not None:
            self.pause_button.setEnabled(state == "running")
            self.resume_button.setEnabled(state == "paused")
            if state == "paused":
                self.progress.setFormat("paused — " + self.progress.format())

    def _on_finished(self, data: dict) -> None:
        best = data.get("best") or {}
        how = {"completed": "finished", "stopped": "stopped",
               "early_stopping": "stopped early"}.get(data.get("reason"), "ended")
        text = f"Training {how} after {data.get('epochs_run', '?')} epoch(s)"
        if best.get("epoch") is not None:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in best.items()
                              if k.startswith("val_") and isinstance(v, (int, float)))
            text += f"; best epoch {best['epoch']}" + (f" ({shown})" if shown else "")
        self.status.setText(text + ".")
        if data.get("reason") != "stopped":
            self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(how)
        self.run_finished.emit(dict(data))

    def _on_failed(self, data: dict) -> None:
        self.show_error(data.get("message", "unknown error"), data.get("node_id"),
                        data.get("traceback", ""))
        self.progress.setFormat("failed")

    def _on_done(self) -> None:
        worker, self.worker = self.worker, None
        self.last_worker = worker
        self._set_running(False)
        self.runs.refresh()
        trainer = worker.trainer if worker else None
        if worker is not None and worker.error is None and trainer is not None and \
                getattr(trainer, "model", None) is not None:
            self._adopt_weights(trainer)
            self.compute_insight(trainer.model, trainer.splits)

    def _adopt_weights(self, trainer) -> None:
        """The trained (best) weights become the document's: Save and Export use them."""
        try:
            state = trainer.node_state()
        except Exception:  # noqa: BLE001 - keep the old weights if the model is odd
            return
        self.document.graph.weights = {
            nid: {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v))
                  for k, v in tensors.items()} for nid, tensors in state.items()}

    # -- errors ----------------------------------------------------------------------------------
    def show_error(self, message: str, node_id: str | None = None, details: str = "") -> None:
        self.error.show_error(message, node_id, details)
        self.status.setText(message)
        if node_id:
            self.highlight(node_id)

    def highlight(self, node_id: str) -> None:
        if not node_id:
            return
        if hasattr(self.document, "set_selection"):
            self.document.set_selection([node_id])
        self.node_highlight.emit(node_id)

    # -- insight ---------------------------------------------------------------------------------
    def compute_insight(self, model, splits) -> None:
        """Predictions, confusion matrix and layer activations on the validation split, off
        the GUI thread."""
        ids = [nid for nid, _ in self._layer_nodes()]
        self._start_insight(lambda: compute_insight(model, splits, ids))

    def _start_insight(self, fn) -> None:
        call = BackgroundCall(fn)
        self._insight_call = call
        call.succeeded.connect(self._show_insight)
        call.failed.connect(lambda msg, _tb: self.status.setText(
            f"Insight views unavailable: {msg}"))
        call.finished.connect(self._insight_ended)
        call.start()

    def _insight_ended(self) -> None:
        self._insight_call = None

    def _show_insight(self, ins) -> None:
        self.insight = ins
        shape = getattr(self.dataset, "preview_data", None) or {}
        from engine.data import CATALOGUE
        info = CATALOGUE.get(self.document.project.dataset.get("name", ""))
        image_shape = shape.get("image_shape") or (info.image_shape if info else None)
        self.predictions.image_shape = image_shape
        self.reconstructions.image_shape = image_shape
        self.feature_maps.set_offline({k: v[:8] for k, v in ins.activations.items()},
                                      ins.weights)
        if ins.confusion is not None:
            self.confusion.set_matrix(ins.confusion, ins.class_names)
        self.predictions.set_insight(ins)
        if ins.task == "reconstruction" or (ins.outputs.shape == ins.x.shape):
            self.reconstructions.set_pairs(ins.x, ins.outputs)
        self.gradients.set_weights(ins.weights)
        nodes = self.document.graph.nodes
        tables = {nid: (nodes[nid].name, t["weight"]) for nid, t in ins.weights.items()
                  if nid in nodes and nodes[nid].type == "core.Embedding" and "weight" in t}
        self.embeddings.set_embeddings(tables, ins.vocab)
        self._maybe_pca()

    def _maybe_pca(self) -> None:
        """Project the picked layer's activations (SVD off the GUI thread), when the PCA tab
        is shown and the layer changed."""
        ins, nid = self.insight, self.feature_maps.node_id
        if ins is None or nid is None or nid not in ins.activations:
            return
        if self.tabs.currentWidget() is not self.pca or self._pca_key == (id(ins), nid):
            return
        self._pca_key = (id(ins), nid)
        from studio.ui.insight.compute import pca_2d
        labels = ins.y if ins.y is not None and np.ndim(ins.y) == 1 else None
        name = self.document.graph.nodes[nid].name
        acts = ins.activations[nid]
        self.pca.info.setText(f"{name}: projecting…")
        call = BackgroundCall(pca_2d, acts)
        call.succeeded.connect(lambda result: self.pca.show_projection(
            name, result, acts.shape, labels, ins.class_names))
        self._pca_call = call
        call.start()
