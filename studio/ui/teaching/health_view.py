"""Health warnings on the canvas while a network trains (engine/teach/health.py finds them): an
amber badge on the node, its tooltip saying what the problem means and what to try, and a row
in the Problems panel. They follow the run (a warning whose condition goes away goes too) and
clear when a new run starts or another project is opened."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from engine.teach.health import HealthMonitor, HealthWarning
from engine.validate import Issue


class HealthFeed:
    """A trainer callback (it runs on the trainer thread): hands the run's events to a
    HealthMonitor made once the trainer has built its model; `emit(run, warnings)`."""

    def __init__(self, emit):
        self.emit = emit
        self.worker = None
        self.run = 0
        self.monitor: HealthMonitor | None = None

    def start(self, worker, run: int) -> None:
        self.monitor, self.worker, self.run = None, worker, run

    def end(self) -> None:
        self.worker = None

    def __call__(self, event) -> None:
        worker = self.worker
        if worker is None:
            return
        if self.monitor is None:
            trainer = getattr(worker, "trainer", None)
            if getattr(trainer, "state", None) is None:
                return
            run = self.run
            self.monitor = HealthMonitor(lambda: trainer.state, worker.project.graph,
                                         lambda warnings: self._send(run, warnings))
        self.monitor(event)

    def _send(self, run: int, warnings: list[HealthWarning]) -> None:
        try:
            self.emit(run, warnings)
        except RuntimeError:        # the window closed mid-run
            self.worker = None


class HealthWarnings(QObject):
    """Shows a run's health warnings on `scene`'s node badges and in `problems` (a
    ProblemsPanel, optional). `run_changed(running, worker)` follows the training panel."""

    report = Signal(int, object)    # run number, list[HealthWarning] (from the trainer thread)
    changed = Signal(list)          # the warnings now shown

    def __init__(self, document, scene, problems=None, parent: QObject | None = None):
        super().__init__(parent)
        self.document, self.scene, self.problems = document, scene, problems
        self.warnings: list[HealthWarning] = []
        self._run = 0
        self.feed = HealthFeed(self.report.emit)
        self.report.connect(self._received, Qt.ConnectionType.QueuedConnection)
        document.graph_replaced.connect(self.clear)
        document.scope_changed.connect(self._apply)
        document.changed.connect(self._apply_later)  # node items made anew keep the warning

    def run_changed(self, running: bool, worker=None) -> None:
        if running:
            self._run += 1
            self.clear()
            self.feed.start(worker, self._run)
        else:
            self.feed.end()

    def clear(self, *_args) -> None:
        self._set([])

    def for_node(self, node_id: str) -> list[str]:
        return [w.message for w in self.warnings if w.node_id == node_id]

    def _received(self, run: int, warnings: list) -> None:
        if run != self._run:        # a report of an earlier run, still queued
            return
        self._set(list(warnings))

    def _set(self, warnings: list[HealthWarning]) -> None:
        changed = warnings != self.warnings
        self.warnings = warnings
        self._apply()
        if changed:
            self.changed.emit(list(warnings))

    def _apply_later(self, *_args) -> None:
        self.document.later(self._apply)   # a pass over every node: not on the edit's path

    def _apply(self, *_args) -> None:
        top = self.document.scope.graph() is self.document.graph
        for node_id, item in self.scene.nodes.items():
            item.badge.set_health(self.for_node(node_id) if top else [])
        if self.problems is not None and hasattr(self.problems, "set_extra"):
            issues = [Issue("health", w.message, w.node_id, severity="warning")
                      for w in self.warnings]
            if issues != self.problems.extra:
                self.problems.set_extra(issues)


def install(window, training, problems) -> HealthWarnings | None:
    """Wire health warnings into the main window: the training panel's runs feed them, the
    canvas and the Problems panel show them."""
    if not hasattr(training, "extra_callbacks") or not hasattr(training, "running_changed"):
        return None
    health = HealthWarnings(window.document, window.scene, problems, window)
    training.extra_callbacks.append(health.feed)
    training.running_changed.connect(lambda on: health.run_changed(on, training.worker))
    return health
