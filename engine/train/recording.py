"""What a run writes while it trains (process rank 0 only): its folder's config snapshot, one
metrics row per epoch, the best and last checkpoints (at most a small share of the run's time
goes into writing them: training.checkpoint_interval). (TensorBoard and MLflow logs are
training callbacks: engine.loggers.)"""
from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import run_folder
from .events import CheckpointSaved
from .faults import TrainError
from .state import RunProgress, TrainState


def choose_run_dir(project, run_dir, rank: int) -> Path | None:
    """The folder of a new run: `run_dir` if given, a new run-N beside the project by
    default, none for run_dir=False, an unsaved project or a process other than rank 0."""
    if run_dir is False or rank != 0 or (run_dir is None and project.path is None):
        return None  # an unsaved project has no folder to put runs beside
    if run_dir:
        path = Path(run_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return run_folder.new_run_dir(project.runs_dir())


class CostBudget:
    """Lets recurring optional work (checkpoint writes, weight histograms) take at most `share`
    of the run's time: after a turn that took c seconds the next is due c / share seconds
    later. A number `interval` instead: due every `interval` seconds (0: always)."""

    SHARE = 0.05

    def __init__(self, interval: float | str = "auto"):
        self.interval = interval
        self._next = float("-inf")

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def spent(self, started: float) -> None:
        """A turn that began at `started` (time.monotonic()) just ended."""
        now = time.monotonic()
        gap = (now - started) / self.SHARE if self.interval == "auto" else self.interval
        self._next = now + gap


class RunRecorder:
    """Writes into `run_dir` (None: writes nothing). The metrics row of every epoch is
    appended at once; the best and last checkpoints are written when `budget` says so (on a
    small model, writing them every epoch took as long as the training) and otherwise kept
    as an in-memory snapshot of their epoch, written at the next turn or by finish()."""

    def __init__(self, run_dir: Path | None, interval: float | str = "auto"):
        self.run_dir = run_dir
        self.metrics = run_folder.MetricsLog(run_dir) if run_dir is not None else None
        self.budget = CostBudget(interval)
        self._best: tuple | None = None   # (weights, info) not yet written
        self._last: tuple | None = None   # (weights, info, tensors) not yet written

    def start(self, snapshot: dict, resumed_at: int | None) -> None:
        """Write config.json (`snapshot`); a resumed run drops metrics rows after the epoch
        it resumes at."""
        if self.run_dir is None:
            return
        if resumed_at is not None:
            self.metrics.truncate_after(resumed_at)
        run_folder.write_config(self.run_dir, snapshot)

    def record_epoch(self, row: dict, improved: bool, state: TrainState,
                     progress: RunProgress, emit: Callable[[CheckpointSaved], None],
                     final: bool = False) -> None:
        """Log the epoch's row; write its checkpoints (best when `improved`, and last) now
        when due or `final`, else keep them for later. Each write emits a CheckpointSaved. A
        write that fails is a TrainError naming the file."""
        if self.run_dir is None:
            return
        try:
            self.metrics.append(row)
        except OSError as exc:
            raise TrainError(f"could not write the metrics log in {self.run_dir}: "
                             f"{exc.strerror or exc}", "error", tb=traceback.format_exc()) \
                from exc
        from ..compile import node_state
        from .resume import copy_weights, last_checkpoint

        now = final or self.budget.due()
        weights = node_state(state.model)
        if improved:
            self._best = (weights if now else copy_weights(weights),
                          {"epoch": row["epoch"], "metrics": row})
        self._last = last_checkpoint(state, progress, row["epoch"], weights, copy=not now)
        if now:
            self.finish(emit)

    def finish(self, emit: Callable[[CheckpointSaved], None]) -> None:
        """Write the checkpoints kept for later (at the end of a run, however it ends)."""
        if self._best is None and self._last is None:
            return
        started = time.monotonic()
        best, last = self._best, self._last
        self._best = self._last = None
        try:
            if best is not None:
                path = run_folder.save_checkpoint(self.run_dir, "best", *best)
                emit(CheckpointSaved(str(path), "best", best[1]["epoch"]))
            if last is not None:
                path = run_folder.save_checkpoint(self.run_dir, "last", *last)
                emit(CheckpointSaved(str(path), "last", last[1]["epoch"]))
        except run_folder.CheckpointError as exc:  # e.g. a full disk: which file, not "data"
            raise TrainError(str(exc), "error", tb=traceback.format_exc()) from exc
        self.budget.spent(started)
