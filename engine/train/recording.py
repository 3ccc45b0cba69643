"""What a run writes while it trains (process rank 0 only): its folder's config snapshot, one
metrics row per epoch, the best and last checkpoints. (TensorBoard and MLflow logs are
training callbacks: engine.loggers.)"""
from __future__ import annotations

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


class RunRecorder:
    """Writes into `run_dir` (None: writes nothing)."""

    def __init__(self, run_dir: Path | None):
        self.run_dir = run_dir
        self.metrics = run_folder.MetricsLog(run_dir) if run_dir is not None else None

    def start(self, snapshot: dict, resumed_at: int | None) -> None:
        """Write config.json (`snapshot`); a resumed run drops metrics rows after the epoch
        it resumes at."""
        if self.run_dir is None:
            return
        if resumed_at is not None:
            self.metrics.truncate_after(resumed_at)
        run_folder.write_config(self.run_dir, snapshot)

    def record_epoch(self, row: dict, improved: bool, state: TrainState,
                     progress: RunProgress, emit: Callable[[CheckpointSaved], None]) -> None:
        """Log the epoch's row and write its checkpoints (best when `improved`, and last),
        emitting a CheckpointSaved for each. A write that fails is a TrainError naming the
        file."""
        if self.run_dir is None:
            return
        try:
            self.metrics.append(row)
        except OSError as exc:
            raise TrainError(f"could not write the metrics log in {self.run_dir}: "
                             f"{exc.strerror or exc}", "error", tb=traceback.format_exc()) \
                from exc
        from ..compile import node_state
        from .resume import save_last

        try:
            if improved:
                path = run_folder.save_checkpoint(self.run_dir, "best", node_state(state.model),
                                                  {"epoch": row["epoch"], "metrics": row})
                emit(CheckpointSaved(str(path), "best", row["epoch"]))
            path = save_last(self.run_dir, state, progress, row["epoch"],
                             node_state(state.model))
        except run_folder.CheckpointError as exc:  # e.g. a full disk: which file, not "data"
            raise TrainError(str(exc), "error", tb=traceback.format_exc()) from exc
        emit(CheckpointSaved(str(path), "last", row["epoch"]))
