"""The Trainer: fits a project's compiled graph to its dataset, headless.

    trainer = Trainer(project, device="auto", callbacks=[print], epochs=5)
    result = trainer.fit()            # FitResult: status, history, best epoch, run folder
    metrics = trainer.evaluate("test")
    outputs = trainer.predict(x)

Events go to the callbacks (events.py). `stop()`, `pause()`, `resume()`, `step()` and
`watch()` may be called from another thread; they take effect before the next batch. The
training config and the determinism protocol are documented in config.py.

How a run is put together: setup.build() makes its TrainState (data, model, losses,
optimizer: `trainer.state`), RunProgress holds where it is (`trainer.progress`, what the last
checkpoint saves and resume.py restores), loop.py runs the epochs through steps.py's step
function, recording.py writes the run folder (run_folder.py knows its layout), faults.py turns
failures into one sentence, evaluation.py computes metrics and predictions.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..project import Project
from . import run_folder
from .config import ConfigError, resolve_config
from .control import RunControl
from .events import Callback, RunFailed, RunFinished, RunStarted, TrainEvent
from .faults import TrainError, cause_of
from .recording import RunRecorder, choose_run_dir
from .state import RunProgress, TrainState


@dataclass
class FitResult:
    """How a fit() ended. status: 'completed' | 'stopped' | 'early_stopping' | 'failed'."""

    status: str
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    best: dict = field(default_factory=dict)
    run_dir: Path | None = None
    error: TrainError | None = None

    @property
    def epochs_run(self) -> int:
        return len(self.history)

    @property
    def losses(self) -> list[float]:
        return [row["loss"] for row in self.history]


class Trainer:
    """Train `project` (its graph, dataset and training sections).

    device: 'auto' (CUDA when available) | 'cpu' | 'cuda' | 'cuda:N'; 'auto' defers to the
    project's training.device. Keyword overrides replace training settings (epochs,
    batch_size, lr, seed, or any top-level key of the config). Extra keywords:
    data (a DataSplits to use instead of loading the project's dataset), run_dir (where to
    write the run; default a new run-N in project.runs_dir(), nothing for an unsaved
    project; False: write nothing),
    resume_from (a run folder to continue from its last checkpoint), init_weights (a
    safetensors / torch state-dict file to fine-tune from).
    """

    def __init__(self, project: Project, device: str = "auto", callbacks=(), *, data=None,
                 run_dir: str | Path | bool | None = None, resume_from: str | Path | None = None,
                 init_weights: str | Path | None = None, **overrides):
        if device and device != "auto":
            overrides["device"] = device
        self.project = project
        self.config = resolve_config(project.training, overrides)
        self.callbacks: list[Callback] = list(callbacks)
        self.control = RunControl()
        self.resume_from = Path(resume_from) if resume_from else None
        self.init_weights = init_weights
        self._data = data
        self._run_dir_arg = run_dir
        self.state: TrainState | None = None           # built by setup()
        self.progress = RunProgress(current_lr=self.config["optimizer"]["lr"])
        self.run_dir: Path | None = None
        self._recorder = RunRecorder(None)
        self.notes: list[str] = []   # for the user, e.g. why TensorBoard logs are off
        self._loggers_attached = False
        #: the clock (seconds) that spaces batch events and activation snapshots: wall
        #: time, so live curves update at their rate however fast the steps are. A
        #: benchmark counting instructions under a slow simulator replaces it with one
        #: that advances as a real run's steps would.
        self.clock = time.monotonic

    # -- what other code reads -----------------------------------------------------------------
    @property
    def model(self):
        """The compiled nn.Module (None before setup())."""
        return self.state.model if self.state is not None else None

    @property
    def splits(self):
        """The dataset's DataSplits (None before setup())."""
        return self.state.splits if self.state is not None else None

    @property
    def rank(self) -> int:
        return self.state.rank if self.state is not None else 0

    @property
    def world(self) -> int:
        return self.state.world if self.state is not None else 1

    @property
    def global_step(self) -> int:
        return self.progress.global_step

    @property
    def history(self) -> list[dict]:
        return self.progress.history

    # -- control (any thread) -------------------------------------------------------------------
    def stop(self) -> None:
        """Stop before the next batch (the run finishes with reason 'stopped')."""
        self.control.stop()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        """Continue a paused run (not to be confused with resume_from=RUN)."""
        self.control.resume()

    def step(self) -> None:
        """Pause (if running) after exactly one more batch; each call allows one more. A
        Paused event follows every step."""
        self.control.step()

    def watch(self, node_ids) -> None:
        """Emit activation snapshots of these nodes on the fixed sample."""
        self.control.watch(node_ids)

    def add_callback(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def _emit(self, event: TrainEvent, quiet: bool = False) -> None:
        """Call every callback. A callback that raises fails the run (kind 'error'), except
        while reporting a failure (quiet), where its error is dropped so fit() returns."""
        if self.rank != 0:
            return
        for cb in list(self.callbacks):
            try:
                cb(event)
            except Exception as exc:
                if not quiet:
                    raise TrainError(f"a training callback failed on the '{event.kind}' "
                                     f"event: {type(exc).__name__}: {exc}", "error",
                                     tb=traceback.format_exc()) from exc

    # -- set-up and fit ---------------------------------------------------------------------------
    def setup(self) -> None:
        """Load the data, build the model, optimizer and schedule (fit() calls it)."""
        if self.state is None:
            from .setup import build

            self.state = build(self.project, self.config, self._data, self.init_weights)
            if getattr(self.state.train_data, "from_disk", False):
                self.notes.append(self.state.train_data.describe())

    def fit(self) -> FitResult:
        """Train for the configured epochs. Never raises for a failed run: the result's status
        is 'failed' and a RunFailed event carries the message and traceback."""
        from .loop import TrainingLoop

        try:
            self.setup()
            self._open_run()
            self._emit(self._started_event())
            status = TrainingLoop(self.state, self.progress, self.config, self.project.graph,
                                  self.control, self._emit, self._recorder, self.clock).run()
            if status in ("completed", "early_stopping") and \
                    self.progress.best_state is not None:
                self.state.model.load_state_dict(self.progress.best_state)
        except TrainError as exc:
            return self._fail(exc)
        except ConfigError as exc:
            return self._fail(TrainError(str(exc), "error", tb=traceback.format_exc()))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a failed event
            return self._fail(TrainError(f"{type(exc).__name__}: {exc}", cause_of(exc),
                                         tb=traceback.format_exc()))
        finally:
            self._stop_data_workers()
        best = self.progress.best_row or {}
        run_dir = str(self.run_dir) if self.run_dir else None
        self._emit(RunFinished(status, len(self.history), best.get("epoch"), dict(best),
                               run_dir))
        return FitResult(status, list(self.history), best.get("epoch"), dict(best),
                         self.run_dir)

    def _stop_data_workers(self) -> None:
        """Streamed splits keep their DataLoader workers across epochs: stop them when the
        run ends (a later evaluation starts them again)."""
        s = self.state
        for data in (getattr(s, "train_data", None), getattr(s, "val_data", None),
                     getattr(s, "test_data", None)):
            data = getattr(data, "data", data)    # an Augmented wrapper holds the split
            if hasattr(data, "close"):
                data.close()

    def _fail(self, err: TrainError) -> FitResult:
        tb = err.traceback or traceback.format_exc()
        step = err.global_step if err.global_step is not None else self.global_step
        self._emit(RunFailed(str(err), err.kind, err.node_id, step, tb,
                             str(self.run_dir) if self.run_dir else None), quiet=True)
        best = self.progress.best_row or {}
        return FitResult("failed", list(self.history), best.get("epoch"), dict(best),
                         self.run_dir, err)

    def _open_run(self) -> None:
        """Choose the run folder (or continue the one resumed from) and start writing it."""
        if self.resume_from is not None:
            self.run_dir = self.resume_from
            from .resume import load_resume

            self.progress = load_resume(self.run_dir, self.state, self.config)
        else:
            self.run_dir = choose_run_dir(self.project, self._run_dir_arg, self.rank)
        if self.run_dir is None or self.rank != 0:
            return
        self._recorder = RunRecorder(self.run_dir, self.config["checkpoint_interval"])
        s = self.state
        self._recorder.start({
            "training": self.config, "dataset": self.project.dataset,
            "graph": self.project.graph.to_dict(), "project": self.project.name,
            "device": str(s.device), "world_size": s.world,
            "resumed_at_epoch": self.progress.start_epoch if self.resume_from else None},
            self.progress.start_epoch if self.resume_from else None)
        if not self._loggers_attached:   # TensorBoard / MLflow (callbacks), once
            from ..loggers import attach_run_loggers

            self._loggers_attached = True
            self.notes += attach_run_loggers(self)

    def _started_event(self) -> RunStarted:
        s = self.state
        return RunStarted(
            str(self.run_dir) if self.run_dir else None, self.config["epochs"],
            s.steps_per_epoch, len(s.train_data), len(s.val_data) if s.val_data else 0,
            str(s.device), self.config, self.progress.start_epoch, s.world, tuple(s.frozen),
            tuple(s.losses), tuple(s.metric_names),
            s.init_report.summary() if s.init_report else None, tuple(self.notes))

    def node_state(self) -> dict:
        """The model's tensors per node id (what Save and the checkpoints store)."""
        from ..compile import node_state

        return node_state(self.state.model)

    # -- evaluation ---------------------------------------------------------------------------------
    def evaluate(self, split: str = "test", metrics: list[str] | None = None) -> dict:
        """Loss and metrics on 'test' | 'val' | 'train' (the config's metrics, or the names
        given, e.g. ["confusion_matrix"]). Raises ValueError if the dataset has no such
        split."""
        from .evaluation import evaluate_data

        self.setup()
        s = self.state
        data = {"test": s.test_data, "val": s.val_data, "train": s.train_data}.get(split)
        if split not in ("test", "val", "train"):
            raise ValueError(f"split must be test, val or train, got {split!r}")
        if data is None or not len(data):
            raise ValueError(f"the dataset has no {split} split (set dataset."
                             f"{'test' if split == 'test' else 'val'}_split)")
        if metrics is not None:
            from .config import METRICS

            unknown = [m for m in metrics if m not in METRICS]
            if unknown:
                raise ValueError(f"unknown metric(s) {', '.join(unknown)} (known: "
                                 f"{', '.join(METRICS)})")
        return evaluate_data(s, self.config, data, metrics=metrics)

    def predict(self, x, batch_size: int = 1024):
        """Model outputs for inputs `x` (numpy or tensor, with the batch dimension) as numpy
        arrays (a tuple when the model has several outputs)."""
        from .evaluation import predict

        self.setup()
        return predict(self.state, x, batch_size)

    def load_checkpoint(self, run: str | Path, kind: str = "best") -> dict:
        """Load a run's best or last weights into the model; returns the checkpoint info."""
        from ..compile import apply_weights

        self.setup()
        run_dir = run_folder.find_run(self.project.runs_dir(), run)
        weights, _, info = run_folder.load_checkpoint(run_dir, kind)
        apply_weights(self.state.model, weights)
        return info

    def close(self) -> None:
        """Release the process group of a distributed run."""
        if self.world > 1:
            from .distributed import leave

            leave()
