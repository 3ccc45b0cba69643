"""A stand-in Trainer that emits the documented events (engine/train/events.py) on its thread,
for worker tests that must not depend on real training speed."""
from __future__ import annotations

import threading
import time

import numpy as np

from engine.train.events import (
    ActivationSnapshot,
    BatchEnded,
    EpochEnded,
    GradNorms,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    TrainEvent,
)


class FakeTrainer:
    def __init__(self, project, device="auto", callbacks=(), *, epochs=3, steps=5,
                 step_time=0.002, fail_at=None, channels=4, **_):
        self.project = project
        self.callbacks = list(callbacks)
        self.epochs, self.steps, self.step_time = epochs, steps, step_time
        self.fail_at = fail_at
        self.channels = channels
        self._stop = threading.Event()
        self._run = threading.Event()
        self._run.set()
        self.watched: list[str] = []
        self.steps_done = 0
        self.reported: list[TrainEvent] = []

    def _emit(self, ev: TrainEvent):
        self.reported.append(ev)
        for cb in self.callbacks:
            cb(ev)

    def watch(self, node_ids):
        self.watched = list(node_ids)

    def stop(self):
        self._stop.set()
        self._run.set()

    def pause(self):
        self._run.clear()
        self._emit(Paused(self.steps_done))

    def resume(self):
        self._run.set()
        self._emit(Resumed(self.steps_done))

    def fit(self):
        self._emit(RunStarted(None, self.epochs, self.steps, self.steps * 8, 16, "cpu", {}))
        g = 0
        for epoch in range(1, self.epochs + 1):
            for step in range(1, self.steps + 1):
                self._run.wait()
                if self._stop.is_set():
                    self._emit(RunFinished("stopped", epoch - 1))
                    return
                time.sleep(self.step_time)
                g += 1
                self.steps_done = g
                if self.fail_at == g:
                    self._emit(RunFailed(f"the loss became NaN at step {g}", "nan", "n2", g))
                    return
                self._emit(BatchEnded(epoch, step, g, 1.0 / g, 0.01, 1000.0, 1.0, self.steps,
                                      {"accuracy": 0.5}))
                self._emit(GradNorms(g, {"n2": 0.1 * g}))
                for nid in self.watched:
                    self._emit(ActivationSnapshot(
                        g, nid, np.full((1, self.channels, 4, 4), g, np.float32)))
            self._emit(EpochEnded(epoch, {
                "epoch": epoch, "loss": 1.0 / epoch, "val_loss": 1.5 / epoch, "lr": 0.01,
                "elapsed_s": 0.1 * epoch, "samples_per_s": 1000.0, "accuracy": 0.5 + epoch / 10,
                "val_accuracy": 0.4 + epoch / 10}))
        self._emit(RunFinished("completed", self.epochs, 1, {"val_loss": 0.5}))


def fake_factory(**kwargs):
    """A trainer factory for TrainingWorker; remembers the trainers it made."""
    made = []

    def factory(project, device, callbacks, **overrides):
        t = FakeTrainer(project, device, callbacks, **{**kwargs, **overrides})
        made.append(t)
        return t

    factory.made = made
    return factory
