"""Saving the document off the GUI thread.

A VGG-16's weights are half a gigabyte: writing them froze the window for about three
seconds. `Document.saver.start(path, done, failed)` takes a snapshot of the project on the GUI
thread (engine.project.frozen: what the file will hold), writes it on a daemon thread
(engine.project.save_project: atomic, the old pair or the new one on disk, never half) and
calls `done(path)` or `failed(message, weights_unreadable)` on the GUI thread. The user may go
on editing meanwhile: the file holds the project as it was when Save was chosen, and the
document is marked saved only if nothing was edited since (an edit made during the save
leaves it modified). Progress: `started(file name)`, `progress(what, done, total)` and
`ended()`, for the status bar. One save at a time: `start` returns False while one runs
(`busy_message` says why); `wait()` finishes the save under way (quitting, opening another
project).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.project import ProjectError, frozen, save_project
from engine.weights_lazy import unread

from .background import DaemonCall

PROGRESS_MS = 100
WAIT_MS = 600_000


class SaveJob:
    """One save: the snapshot (taken at construction, on the GUI thread), its write (any
    thread) and what the document learns from it (`finish`, GUI thread)."""

    def __init__(self, document, path: str | Path):
        self.project = document.project
        self.snapshot = frozen(document.project)
        self.path = Path(path)
        self.index = document.undo_stack.index()
        self.pushes = document.pushes
        self.old_path = self.project.path
        self.old_recovery = document.recovery_path()
        weights = self.project.graph.weights
        self.source = weights.source if unread(weights) else None   # its read's progress
        self.done = self.total = 0
        self.error: ProjectError | None = None
        self.saved: Path | None = None

    @property
    def weights_unreadable(self) -> bool:
        """The save failed because the lazily opened weights file cannot be read any more."""
        source = self.source
        return bool(self.error is not None and source is not None and not source.read
                    and self.error.path in {str(source.describe), *map(str, source.found)})

    def write(self) -> None:
        try:
            self.saved = save_project(self.snapshot, self.path, self._progress)
        except ProjectError as exc:
            self.error = exc

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def status(self) -> tuple[str, int, int]:
        """(what is being done, done, total) for the status bar."""
        source = self.source
        if source is not None and not source.read and source.total and not self.total:
            return "reading the weights", source.done, source.total
        return "", self.done, self.total

    def finish(self, document) -> Path:
        """The document after the file was written (GUI thread)."""
        saved = self.saved
        if document.project is not self.project:
            return saved   # another project was opened meanwhile: nothing of it to mark
        self.project.path = saved
        self.project.weights_record = self.snapshot.weights_record
        document.unsaved_runs.move_to(self.project.runs_dir())
        _unlink(self.old_recovery)
        stack = document.undo_stack
        if stack.index() == self.index and document.pushes == self.pushes:
            stack.setClean()
            if document._replaced_after_open:
                document._replaced_after_open = False
                document.modified_changed.emit(False)
        else:   # edited during the save: no state of the stack is the file's
            stack.resetClean()
        if saved != self.old_path:
            document.path_changed.emit(str(saved))
            document.check_data()  # relative data paths now resolve against the new folder
        return saved


class Saver(QObject):
    """The document's saves off the GUI thread (see the module docstring)."""

    started = Signal(str)
    progress = Signal(str, int, int)
    ended = Signal()

    def __init__(self, document):
        super().__init__(document)
        self.document = document
        self._job: SaveJob | None = None
        self._call: DaemonCall | None = None
        self._callbacks: tuple = ()
        self._ticker = QTimer(self)
        self._ticker.setInterval(PROGRESS_MS)
        self._ticker.timeout.connect(self._tick)

    @property
    def busy(self) -> bool:
        return self._call is not None

    def busy_message(self) -> str:
        name = self._job.path.name if self._job else "the project"
        return f"Still saving {name}: try again when that save has finished."

    def start(self, path: str | Path, done: Callable[[Path], object] | None = None,
              failed: Callable[[str, bool], object] | None = None) -> bool:
        """Save to `path` on a background thread. False (nothing started) while another
        save runs. Refused values (ProjectError) are reported through `failed` too."""
        if self.busy:
            return False
        job = SaveJob(self.document, path)
        self._job, self._callbacks = job, (done, failed)
        self._call = DaemonCall(job.write)
        self._call.succeeded.connect(self._written)
        self._call.failed.connect(self._crashed)
        self._call.start()
        self._ticker.start()
        self.started.emit(job.path.name)
        return True

    def save_now(self, path: str | Path) -> Path:
        """Save on this thread (scripts, tests, the sweep panel). Raises ProjectError."""
        if self.busy:
            raise ProjectError(self.busy_message(), path)
        job = SaveJob(self.document, path)
        job.write()
        if job.error is not None:
            raise job.error
        return job.finish(self.document)

    def wait(self, timeout_ms: int = WAIT_MS) -> None:
        """Finish the save under way, if any, and deliver its outcome now."""
        if self._call is not None:
            self._call.settle(timeout_ms)

    def _tick(self) -> None:
        if self._job is not None:
            self.progress.emit(*self._job.status())

    def _end(self) -> tuple[SaveJob, tuple]:
        self._ticker.stop()
        job, callbacks = self._job, self._callbacks
        self._job, self._call, self._callbacks = None, None, ()
        self.ended.emit()
        return job, callbacks

    def _written(self, _result) -> None:
        job, (done, failed) = self._end()
        if job.error is not None:
            if failed is not None:
                failed(str(job.error), job.weights_unreadable)
            return
        saved = job.finish(self.document)
        if done is not None:
            done(saved)

    def _crashed(self, message: str, _tb: str) -> None:
        """An error save_project does not turn into a ProjectError (a bug): said, not lost."""
        job, (_done, failed) = self._end()
        if failed is not None:
            failed(f"{job.path}: cannot save ({message})", False)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


__all__ = ["SaveJob", "Saver"]
