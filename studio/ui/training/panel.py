"""The Training tab: settings (dataset, optimizer, loss, ...) on the left; run controls,
progress, live curves and insight views on the right. Training runs on a background thread
(studio.worker); while a run is active the document is locked and a banner says so.

The panel runs the training; its parts live beside it: run_controls.py (buttons, progress,
status), error_box.py (a run's error), views.py (curves, insight views, earlier runs),
dataset.py and settings.py (the left-hand column)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QWidget

from engine.project import snapshot_project
from engine.train.events import BatchEnded, EpochEnded, RunFailed, RunFinished, RunStarted
from studio.worker import TrainingWorker

from ..dialogs.outside_data import confirm_outside_data
from ..lazy_widgets import built_in_steps, settings_frame
from ..teaching.boundary_tab import BoundaryTab
from ..teaching.network_view import NetworkView
from .dataset import DatasetPicker
from .error_box import ErrorBox
from .run_controls import RunControls
from .run_edges import expected_metrics, in_turns, locked_banner
from .settings import TrainingSettings, check_training
from .views import TrainingViews


class TrainingPanel(QWidget):
    """Signals for the rest of the app:
      node_highlight(str)        a node to point at (the cause of an error)
      running_changed(bool)      a run started / ended (document.locked follows it)
      activations(str, object)   node_id, numpy array (first dim = sample) — live snapshots
      grad_norms(dict)           {node_id: gradient L2 norm} — latest, at most 30/s
      run_finished(object)       the run's RunFinished event (reason, best, run_dir, ...)
    """

    node_highlight = Signal(str)
    running_changed = Signal(bool)
    activations = Signal(str, object)
    grad_norms = Signal(dict)
    run_finished = Signal(object)

    def __init__(self, document, parent: QWidget | None = None, trainer_factory=None,
                 in_steps: bool = False):
        """`in_steps`: see lazy_widgets.built_in_steps."""
        super().__init__(parent)
        self.document = document
        self.trainer_factory = trainer_factory
        self.extra_callbacks: list = []     # called on the trainer thread (tests, benches)
        self.overrides: dict = {}
        self.worker: TrainingWorker | None = None
        self.last_worker: TrainingWorker | None = None
        self._run: RunStarted | None = None
        self._run_of = None          # the project the active run belongs to
        self._runs = 0               # runs started (a run's end steps stop at the next one)
        self._refused: str | None = None   # why Train was refused: 'model' | 'settings'
        self.build_steps = built_in_steps(self._build_steps(), in_steps)

    def _build_steps(self):
        yield from self._build()
        self._connect_document()
        self.views.refresh_layers()
        self._set_running(False)
        yield "connected"
        self.views.show_latest_run()
        yield "latest run"

    # -- layout ---------------------------------------------------------------------------------
    def _build(self):
        """Top-down, yielding the name of each part built: the frame first, then each part
        straight into it, so no finished subtree is re-parented (with the app's style sheet
        every re-parenting re-polishes the whole subtree)."""
        self.banner = locked_banner()
        lv, rv = settings_frame(self, 360, 330, header=self.banner)
        yield "frame"
        self.dataset = DatasetPicker(self.document)
        lv.addWidget(self.dataset)
        yield "dataset"
        self.settings = TrainingSettings(self.document, in_steps=True)
        lv.addWidget(self.settings)
        for part in self.settings.build_steps:
            yield f"settings, {part}"

        self.controls = RunControls()
        c = self.controls
        self.train_button, self.pause_button = c.train_button, c.pause_button
        self.resume_button, self.stop_button = c.resume_button, c.stop_button
        self.progress, self.status = c.progress, c.status
        self.train_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.step_button = c.step_button
        self.step_button.clicked.connect(self.step)
        self.stop_button.clicked.connect(self.stop)
        self.error = ErrorBox()
        self.error.show_node.connect(self.highlight)
        rv.addWidget(self.error)
        rv.addWidget(self.controls)
        yield "run controls"
        self.views = v = TrainingViews(self.document, self.dataset)
        rv.addWidget(self.views, 1)
        yield "views"
        self.boundary = BoundaryTab(self.document)
        v.insert_model_tab(1, self.boundary, "Decision boundary", lambda: self.boundary.applicable)
        self.extra_callbacks.append(self.boundary.feed)
        yield "decision boundary"
        self.network = NetworkView(self.document)
        v.insert_model_tab(2, self.network, "Units and weights", lambda: self.network.applicable)
        self.extra_callbacks.append(self.network.feed)
        yield "units and weights"
        self._show_boundary_first()
        self.document.undo_stack.indexChanged.connect(self._tabs_later)
        v.message.connect(self.status.setText)
        v.feature_maps.layer_chosen.connect(lambda _nid: self._update_watch())
        self.tabs = v
        self.curves, self.feature_maps, self.confusion = v.curves, v.feature_maps, v.confusion
        self.predictions, self.reconstructions, self.pca = \
            v.predictions, v.reconstructions, v.pca
        self.gradients, self.embeddings, self.runs = v.gradients, v.embeddings, v.runs

    @property
    def insight(self):
        """The insight views' data (None until a run ended or saved weights were shown)."""
        return self.views.insight

    def _connections(self) -> list:
        doc = self.document
        return [(doc.undo_stack.indexChanged, self._refresh_settings_later),
                (doc.settings_changed, self._refresh_settings),   # its own edit: at once
                (doc.changed, self._layers_later),
                (doc.validated, self._clear_stale_refusal),
                (doc.data_checked, self._expect_metrics),
                (doc.graph_replaced, self._document_replaced),
                (doc.selection_changed, self._selection_changed)]

    def _connect_document(self) -> None:
        for signal, slot in self._connections():
            signal.connect(slot)

    def _disconnect_document(self) -> None:
        with warnings.catch_warnings():  # PySide warns when a slot was not connected
            warnings.simplefilter("ignore", RuntimeWarning)
            for signal, slot in self._connections():
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass

    def _document_replaced(self, *_):
        """Another project: its own world. A run of the previous one is stopped (its
        weights are not the new model's); nothing of it stays on show."""
        self.stop_and_wait()
        self._refused = None
        self.error.hide()
        self.controls.reset()
        self.views.reset()
        self._refresh_settings()
        self.views.show_latest_run()
        self._show_boundary_first()

    def _show_boundary_first(self) -> None:
        """A model of two numbers (x1, x2) opens on its decision regions, others on the
        curves."""
        self._tabs_shown_if_useful()
        if self.boundary.applicable:
            self.views.setCurrentWidget(self.boundary)

    # after an edit these follow on later turns of the event loop (Document.later): on a
    # 1,000-node graph each is a pass over the graph, and the canvas comes first
    def _tabs_later(self, *_) -> None:
        self.document.later(self._tabs_shown_if_useful)

    def _refresh_settings_later(self, *_) -> None:
        self.document.later(self._refresh_settings)

    def _layers_later(self, *_) -> None:
        self.document.later(self.views.refresh_layers)

    def _tabs_shown_if_useful(self, *_) -> None:
        """Decision boundary is there only for a model with a 2-number input, Units and
        weights only for one with a small Linear layer, Latent and GAN only for a VAE or a GAN
        (fewer tabs to scroll past); an edit can make them appear or go."""
        self.views.show_tabs_for_model()

    def _refresh_settings(self, *_) -> None:
        self.settings.refresh()
        self.dataset.refresh()
        self._clear_stale_refusal()
        self._expect_metrics()

    def _expect_metrics(self, *_) -> None:
        """The next run's metric plots are placed now, while nothing runs."""
        if self.worker is None:
            self.curves.expect(expected_metrics(self.document))

    def _clear_stale_refusal(self, *_) -> None:
        """A refused Train's message goes once its cause is gone (the model or the settings
        were fixed)."""
        fixed = {"model": lambda: self.document.report().ok,
                 "settings": lambda: not check_training(self.document.project.training)}
        if self._refused in fixed and fixed[self._refused]():
            self._refused = None
            self.error.hide()
            self.status.setText("Ready.")

    def _selection_changed(self, ids: list) -> None:
        if len(ids) == 1:
            self.feature_maps.choose(ids[0])
        self._update_watch()

    def _update_watch(self) -> list[str]:
        watched = [self.feature_maps.node_id] if self.feature_maps.node_id else []
        for nid in self.document.selected_ids:
            if nid not in watched and nid in self.document.graph.nodes:
                watched.append(nid)
        if self.worker is not None:
            self.worker.watch(watched)
        self.views.maybe_pca()
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
            self._refused = "model"
            return False
        reason = check_training(self.document.project.training)
        if reason:
            self.show_error(reason)
            self._refused = "settings"
            return False
        if not confirm_outside_data(self, self.document.project):
            self.show_error("not started: the dataset lies outside the project folder and "
                            "reading it was not allowed")
            return False
        project = snapshot_project(self.document.project)
        overrides = dict(self.overrides)
        if project.path is None and "run_dir" not in overrides:
            overrides["run_dir"] = str(self.document.unsaved_runs.new())
        worker = TrainingWorker(project, device=project.training.get("device", "auto"),
                                overrides=overrides, factory=self.trainer_factory,
                                extra_callbacks=self.extra_callbacks, parent=self)
        worker.started.connect(self._on_started)
        worker.batches.connect(self.curves.add_batches)
        worker.progress.connect(self._on_progress)
        worker.epoch_end.connect(self._on_epoch)
        worker.views.connect(self.views.show_generative)
        worker.snapshot.connect(lambda ev: self.feature_maps.show_activation(
            ev.node_id, ev.array, ev.weights))
        worker.activations.connect(self.activations)
        worker.grad_norms.connect(self.grad_norms)
        worker.grad_norms.connect(self.gradients.add_norms)
        worker.state_changed.connect(self._on_state)
        worker.paused.connect(self._on_paused)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        self.worker = worker
        self._runs += 1
        self._run_of = self.document.project
        names = {nid: n.name for nid, n in self.document.graph.nodes.items()}
        self.gradients.reset(names)
        self.curves.start_run(None)
        self.feature_maps.live.clear()
        self._run = None
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

    def step(self) -> bool:
        """Train exactly one batch and pause; starts a run (paused after its first batch)
        when none is active. False when a run could not start."""
        if self.worker is None and not self.start():
            return False
        self.worker.step()
        return True

    def stop_and_wait(self, timeout_ms: int = 60_000) -> None:
        """Stop an active run and handle its end now (before another project is shown)."""
        worker = self.worker
        if worker is None:
            return
        worker.stop()
        worker.wait(timeout_ms)
        worker.drain()
        QCoreApplication.sendPostedEvents(worker)   # its `done`, queued by the thread

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop an active run and wait for its thread (closing the window, tests)."""
        worker = self.worker
        if worker is not None:
            worker.stop()
            worker.wait(timeout_ms)
            worker.drain()
        self.views.wait(timeout_ms)
        self.boundary.wait(timeout_ms)
        self.network.wait(timeout_ms)
        self._disconnect_document()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def _set_running(self, running: bool) -> None:
        """At a run's end the document, the buttons and the banner change at once; the
        plots' last points and the settings forms follow, each in a turn of its own."""
        self.document.locked = running  # the document refuses edits while a run is active
        self.views.busy = running
        self.boundary.run_changed(running, self.worker)
        self.network.run_changed(running, self.worker)
        self.banner.setVisible(running)
        self.controls.set_running(running, self.worker.state if self.worker else "idle")
        if running:
            self.curves.running = True
            self._enable_forms(False)
        else:
            run = self._runs
            in_turns(self, [self.curves.end_run, lambda: self._enable_forms(True)],
                     lambda: self.worker is None and self._runs == run)
        self.running_changed.emit(running)

    def _enable_forms(self, on: bool) -> None:
        self.settings.setEnabled(on)
        self.dataset.setEnabled(on)

    # -- worker signals --------------------------------------------------------------------------
    def _on_started(self, ev: RunStarted) -> None:
        self._run = ev
        self.curves.start_run(ev.steps_per_epoch, ev.epochs,
                              list(ev.metrics) if len(ev.losses) <= 1 else [])
        self.status.setText(f"Training on {ev.device}: {ev.train_size} training samples, "
                            f"{ev.val_size} validation"
                            + (f" — run folder {Path(ev.run_dir).name}" if ev.run_dir else "")
                            + "".join(f". {note}" for note in ev.notes))

    def _on_progress(self, batch: BatchEnded) -> None:
        self.controls.show_progress(batch, self._run.epochs if self._run else None)

    def _on_epoch(self, ev: EpochEnded) -> None:
        self.curves.add_epoch(ev.metrics)
        parts = [f"epoch {ev.epoch}: loss {ev.metrics.get('loss', float('nan')):.4g}"]
        for k, v in ev.metrics.items():
            if k.startswith("val_") and isinstance(v, (int, float)):
                parts.append(f"{k} {v:.4g}")
        self.status.set_later(" · ".join(parts))   # shown with the next progress update

    def _on_state(self, state: str) -> None:
        if self.worker is not None:
            self.controls.show_state(state)

    def _on_paused(self) -> None:
        if self.worker is not None and self.worker.paused_step is not None:
            self.controls.show_step(self.worker.paused_step,
                                    self._run.steps_per_epoch if self._run else None)

    def _on_finished(self, ev: RunFinished) -> None:
        best = ev.best or {}
        how = {"completed": "finished", "stopped": "stopped",
               "early_stopping": "stopped early"}.get(ev.reason, "ended")
        text = f"Training {how} after {ev.epochs_run} epoch(s)"
        if best.get("epoch") is not None:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in best.items()
                              if k.startswith("val_") and isinstance(v, (int, float)))
            text += f"; best epoch {best['epoch']}" + (f" ({shown})" if shown else "")
        self.status.setText(text + ".")
        self.controls.show_end(how, full=ev.reason != "stopped")
        self.run_finished.emit(ev)

    def _on_failed(self, ev: RunFailed) -> None:
        self.show_error(ev.message, ev.node_id, ev.traceback)
        self.controls.show_end("failed", full=False)

    def _on_done(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return
        self.last_worker = worker
        self._set_running(False)
        if self._run_of is not self.document.project:
            return   # a run of the project shown before: nothing of it is this one's
        self.document.run_ended()
        self.runs.refresh()
        trainer = worker.trainer
        if worker.error is None and trainer is not None and \
                getattr(trainer, "model", None) is not None:
            self._adopt_weights(trainer)
            self.views.compute_insight(trainer.model, trainer.splits)

    def _adopt_weights(self, trainer) -> None:
        """The trained (best) weights become the document's: Save and Export use them."""
        try:
            state = trainer.node_state()
        except Exception:  # noqa: BLE001 - keep the old weights if the model is odd
            return
        self.document.set_weights({
            nid: {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v))
                  for k, v in tensors.items()} for nid, tensors in state.items()},
            "Use the trained weights")

    # -- errors ----------------------------------------------------------------------------------
    def show_error(self, message: str, node_id: str | None = None, details: str = "") -> None:
        self._refused = None
        self.error.show_error(message, node_id, details)
        self.status.setText(message)
        if node_id:
            self.highlight(node_id)

    def highlight(self, node_id: str) -> None:
        if not node_id:
            return
        self.document.set_selection([node_id])
        self.node_highlight.emit(node_id)
