"""Runs an engine Trainer on a background QThread and turns its events into Qt signals.

The trainer calls our callback on its own thread; the callback only appends the event to a
locked list (cheap, never blocks training). A QTimer on the GUI thread drains that list at most
`FPS` times a second and emits coalesced signals, so the UI never draws more often than that.
The signals carry the engine's typed events (engine/train/events.py):

  started(RunStarted)
  batches(list)            every BatchEnded since the last tick, in order
  progress(BatchEnded)     the latest one (for progress bars)
  epoch_end(EpochEnded)    one per epoch
  grad_norms(dict)         {node_id: float}, latest per tick
  activations(str, object) node_id, numpy array (first dim = sample); latest per node per tick
  snapshot(ActivationSnapshot)  the same, with the layer's filters
  checkpoint(CheckpointSaved)
  views(object)            a generative model's pictures, one per epoch (LatentSnapshot,
                           GanSnapshot)
  paused(), resumed()       (paused follows every Step too; `paused_step` is its global step)
  finished(RunFinished)
  failed(RunFailed)
  state_changed(str)       'idle' | 'starting' | 'running' | 'paused' | 'stopping'
  done()                   the thread has ended (after finished or failed)
"""
from __future__ import annotations

import gc
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from engine.train.events import (
    ActivationSnapshot,
    BatchEnded,
    CheckpointSaved,
    EpochEnded,
    GanSnapshot,
    GradNorms,
    LatentSnapshot,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
)

FPS = 10   # the trainer reports batches 10 times a second (event_interval); each drain wakes the GUI thread

TrainerFactory = Callable[..., Any]


def default_trainer_factory(project, device, callbacks, **overrides):
    from engine.train.trainer import Trainer
    return Trainer(project, device, callbacks, **overrides)


class EventBuffer:
    """A thread-safe list of TrainEvents: the trainer thread puts, the GUI thread takes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list = []

    def put(self, event) -> None:
        with self._lock:
            self._events.append(event)

    def take(self) -> list:
        with self._lock:
            events, self._events = self._events, []
        return events


TORCH_THREADS: int | None = None   # intra-op threads while training from the app (None: auto)


def _leave_a_core_for_the_ui():
    """Train with the cores other programs leave free, minus one for the GUI thread, at least
    one thread (engine.threads; on 2 cores, 2 spinning OpenMP workers plus the event loop made
    training from a background thread ~5x slower, measured with bench/gui_overhead.py
    --gui-threads 2). `TORCH_THREADS` overrides the choice. Returns a function restoring the
    old setting."""
    from engine.threads import use_free_cores

    return use_free_cores(reserve=1, threads=TORCH_THREADS)


GIL_SWITCH_S = 0.0005


def _quick_gil_handoff():
    """Shorten the interpreter's GIL switch interval (5 ms by default) while training: the
    trainer thread needs the GIL between torch ops, and a GUI thread in a long Python stretch
    (a repaint) otherwise keeps it up to 5 ms each time (measured ~5% more samples/s from the
    app, and no more event-loop lag). Returns a function restoring the old interval."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, GIL_SWITCH_S))
    return lambda: sys.setswitchinterval(before)


class _TrainThread(QThread):
    """Builds the trainer (data loading happens here too) and runs fit() off the GUI thread."""

    def __init__(self, worker: TrainingWorker):
        super().__init__()
        self._worker = worker

    def run(self) -> None:
        w = self._worker
        restore_threads = _leave_a_core_for_the_ui()
        restore_gil = _quick_gil_handoff()
        try:
            trainer = w._factory(w.project, w.device, [w._on_event, *w.extra_callbacks],
                                 **w.overrides)
            if w._attach(trainer):
                trainer.fit()
        except BaseException as exc:  # noqa: BLE001 - anything must reach the UI, not kill it
            w._crash(exc, traceback.format_exc())
        finally:
            restore_gil()
            restore_threads()


class TrainingWorker(QObject):
    """One training run. Create, connect signals, `start()`; `stop()/pause()/resume()` are
    forwarded to the trainer and honoured by it within one batch."""

    started = Signal(object)
    batches = Signal(list)
    progress = Signal(object)
    epoch_end = Signal(object)
    grad_norms = Signal(dict)
    activations = Signal(str, object)
    snapshot = Signal(object)
    checkpoint = Signal(object)
    views = Signal(object)
    paused = Signal()
    resumed = Signal()
    finished = Signal(object)
    failed = Signal(object)
    state_changed = Signal(str)
    done = Signal()

    def __init__(self, project, device: str = "auto", overrides: dict | None = None,
                 watch: list[str] | None = None, factory: TrainerFactory | None = None,
                 extra_callbacks: list | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self.device = device
        self.overrides = dict(overrides or {})
        self.extra_callbacks = list(extra_callbacks or [])
        self._factory = factory or default_trainer_factory
        self._buffer = EventBuffer()
        self._lock = threading.Lock()
        self._trainer = None
        self._pending: list[tuple[str, tuple]] = []   # commands sent before the trainer exists
        self._watch = list(watch or [])
        self._thread: _TrainThread | None = None
        self._frozen = False
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / FPS))
        self._timer.timeout.connect(self.drain)
        self.state = "idle"
        self.trainer = None
        self.run_dir: str | None = None
        self.result: RunFinished | None = None
        self.error: RunFailed | None = None
        self.paused_step: int | None = None   # the global step of the latest Paused event

    # -- control (GUI thread) ---------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this worker has already run; create a new one")
        self._set_state("starting")
        # the objects alive now (the app, torch, pyqtgraph: hundreds of thousands) need no
        # cyclic-GC scans while training: a full collection of them is a ~300 ms freeze
        gc.freeze()
        self._frozen = True
        self._thread = _TrainThread(self)
        self._thread.finished.connect(self._thread_ended)
        self._timer.start()
        self._thread.start()

    def stop(self) -> None:
        if self.state in ("idle",):
            return
        self._set_state("stopping")
        self._send("stop")

    def pause(self) -> None:
        if self.state == "running":
            self._send("pause")

    def resume(self) -> None:
        if self.state == "paused":
            self._send("resume")

    def step(self) -> None:
        """Train exactly one more batch, then pause (a starting run pauses after its first)."""
        if self.state in ("starting", "running", "paused"):
            self._send("step")

    def watch(self, node_ids: list[str]) -> None:
        """Ask the trainer for activation snapshots of these nodes (at its throttle rate)."""
        self._watch = list(node_ids)
        self._send("watch", self._watch)

    def is_active(self) -> bool:
        return self._thread is not None and self.state not in ("idle",)

    def wait(self, ms: int = 10_000) -> bool:
        return self._thread.wait(ms) if self._thread is not None else True

    # -- trainer side (training thread) -----------------------------------------------------
    def _on_event(self, event) -> None:
        self._buffer.put(event)

    def _attach(self, trainer) -> bool:
        """Hand over commands sent while the trainer was being built; False: stop at once."""
        with self._lock:
            self._trainer = trainer
            self.trainer = trainer
            pending, self._pending = self._pending, []
        if self._watch and hasattr(trainer, "watch"):
            trainer.watch(self._watch)
        names = [name for name, _ in pending]
        if "stop" in names:
            self._buffer.put(RunFinished("stopped", 0))
            return False
        if names and names[-1] == "pause":
            trainer.pause()
        for _ in range(names.count("step")):
            trainer.step()
        return True

    def _send(self, name: str, *args) -> None:
        with self._lock:
            trainer = self._trainer
            if trainer is None:
                self._pending.append((name, args))
                return
        method = getattr(trainer, name, None)
        if method is not None:
            method(*args)

    def _crash(self, exc: BaseException, tb: str) -> None:
        from engine.train.faults import TrainError, cause_of

        from .background import error_text

        msg = error_text(exc)
        node_id = exc.node_id if isinstance(exc, TrainError) else None
        self._buffer.put(RunFailed(msg, cause_of(exc), node_id, traceback=tb))

    # -- GUI side ---------------------------------------------------------------------------
    def drain(self) -> None:
        """Emit everything that arrived since the last tick (called by the timer)."""
        events = self._buffer.take()
        if not events:
            return
        batch_run: list[BatchEnded] = []
        latest_acts: dict[str, ActivationSnapshot] = {}
        latest_norms: GradNorms | None = None
        others: list = []
        for ev in events:
            if isinstance(ev, BatchEnded):
                batch_run.append(ev)
            elif isinstance(ev, ActivationSnapshot):
                latest_acts[ev.node_id] = ev
            elif isinstance(ev, GradNorms):
                latest_norms = ev
            else:
                others.append(ev)
        # one emission per signal per tick; 'started' first so listeners know the run's size
        others.sort(key=lambda e: not isinstance(e, RunStarted))
        for ev in others:
            if isinstance(ev, RunStarted):
                self._emit_one(ev)
        if batch_run:
            self.batches.emit(batch_run)
            self.progress.emit(batch_run[-1])
        for ev in others:
            if not isinstance(ev, RunStarted):
                self._emit_one(ev)
        if latest_norms is not None:
            self.grad_norms.emit(dict(latest_norms.norms))
        for node_id, snap in latest_acts.items():
            self.activations.emit(node_id, snap.array)
            self.snapshot.emit(snap)

    def _emit_one(self, ev) -> None:
        if isinstance(ev, RunStarted):
            self.run_dir = ev.run_dir
            self._set_state("running" if self.state != "stopping" else "stopping")
            self.started.emit(ev)
        elif isinstance(ev, EpochEnded):
            self.epoch_end.emit(ev)
        elif isinstance(ev, CheckpointSaved):
            self.checkpoint.emit(ev)
        elif isinstance(ev, (LatentSnapshot, GanSnapshot)):
            self.views.emit(ev)
        elif isinstance(ev, Paused):
            self.paused_step = ev.global_step
            self._set_state("paused")
            self.paused.emit()
        elif isinstance(ev, Resumed):
            self._set_state("running")
            self.resumed.emit()
        elif isinstance(ev, RunFinished):
            self.result = ev
            self.run_dir = ev.run_dir or self.run_dir
            self.finished.emit(ev)
        elif isinstance(ev, RunFailed):
            self.error = ev
            self.failed.emit(ev)

    def _thread_ended(self) -> None:
        self.drain()
        self._timer.stop()
        if self._frozen:
            self._frozen = False
            gc.unfreeze()
        if self.result is None and self.error is None:
            # fit() returned without a finished event: report it as finished anyway
            history = getattr(self.trainer, "history", None) or []
            self.result = RunFinished("stopped" if self.state == "stopping" else "completed",
                                      len(history), run_dir=self.run_dir)
            self.finished.emit(self.result)
        self._set_state("idle")
        self.done.emit()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
