"""Reading a lazily opened project's weights off the GUI thread, for the edits that need them
(Replace Head, Make Block, Ungroup) and for exports.

A VGG-16's weights file is half a gigabyte: reading it on the GUI thread froze the window for
about a second. `Document.weights_reader.then(action, failed, what)` runs `action()` at once
when the weights are in memory (or there are none); otherwise a daemon thread reads the file
(engine.weights_lazy: every check of an eager load) while the window stays responsive, and
`action()` runs on the GUI thread when the read is done, against the document as it is then
(the user may have edited it meanwhile; the action builds its undo command then). A failure
calls `failed(message)` with the one sentence naming the file; the document is untouched.
A document replaced meanwhile (another project opened) drops the action, and nothing of the
old project is kept. One read at a time: a second request while one runs is refused
(`then` returns False; `BUSY` says why).
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from engine.project import ProjectError
from engine.weights_lazy import unread

from .background import DaemonCall

PROGRESS_MS = 100


class WeightsReader(QObject):
    """Signals (GUI thread): started(what, total bytes), progress(done, total), ended()."""

    started = Signal(str, int)
    progress = Signal(int, int)
    ended = Signal()
    BUSY = "still reading the model's weights: try again when they are read"

    def __init__(self, document):
        super().__init__(document)
        self.document = document
        self._call: DaemonCall | None = None
        self._pending: tuple | None = None   # (project, action, failed)
        self._source = None
        self._ticker = QTimer(self)
        self._ticker.setInterval(PROGRESS_MS)
        self._ticker.timeout.connect(self._tick)

    @property
    def busy(self) -> bool:
        return self._call is not None

    def needs_read(self) -> bool:
        """True when the document's weights are a file not read yet."""
        weights = self.document.graph.weights
        return unread(weights) and not weights.source.read

    def then(self, action: Callable[[], object], failed: Callable[[str], object],
             what: str = "Reading the weights", nodes: list[str] | None = None) -> bool:
        """Run `action()` once the weights are in memory (now, or after a read off the GUI
        thread); `failed(message)` if the file cannot be read. `nodes`: the action needs
        only these nodes' tensors, so it runs at once when none of them is in the unread
        file (its header says which are). False (nothing started) while another read runs."""
        if self.busy:
            return False
        weights = self.document.graph.weights
        if nodes is not None and self.needs_read() and \
                not any(weights.in_file(nid) for nid in nodes):
            action()   # e.g. a block of activations and pooling: nothing to read
            return True
        if not self.needs_read():
            try:
                len(self.document.graph.weights)   # read already: only the per-node dicts
            except ProjectError as exc:
                failed(str(exc))
                return True
            action()
            return True
        source = self.document.graph.weights.source
        self._pending = (self.document.project, action, failed)
        self._source = source
        self._call = DaemonCall(source.weights)
        self._call.succeeded.connect(self._read)
        self._call.failed.connect(self._failed)
        self._call.start()
        self._ticker.start()
        self.started.emit(what, _size(source))
        return True

    def run(self, action: Callable[[], object], report: Callable[[str], object],
            what: str, nodes: list[str] | None = None) -> object:
        """`then` for an action of the GUI: `report(message)` is told a failure or that
        another read runs. Returns what `action()` returned when it ran at once, True while
        it waits for the read, False when it was refused or failed at once."""
        outcome: list = []

        def failed(message: str) -> None:
            outcome.append(False)
            report(message)

        if not self.then(lambda: outcome.append(action()), failed, what, nodes):
            report(self.BUSY)
            return False
        return outcome[0] if outcome else True

    def wait(self, timeout_ms: int = 60_000) -> None:
        """Wait for the read under way and deliver it (closing, tests)."""
        if self._call is not None:
            self._call.settle(timeout_ms)

    def _tick(self) -> None:
        if self._source is not None and self._source.total:
            self.progress.emit(self._source.done, self._source.total)

    def _finish(self) -> tuple:
        self._ticker.stop()
        pending, self._pending, self._call, self._source = self._pending, None, None, None
        self.ended.emit()
        project, action, failed = pending
        if project is not self.document.project:
            return None, None   # another project was opened meanwhile: nothing to do
        return action, failed

    def _read(self, _weights) -> None:
        action, failed = self._finish()
        if action is None:
            return
        try:
            len(self.document.graph.weights)   # the per-node dicts, with edits since
        except ProjectError as exc:             # the weights were replaced meanwhile
            failed(str(exc))
            return
        action()

    def _failed(self, message: str, _tb: str) -> None:
        _action, failed = self._finish()
        if failed is not None:
            failed(message)


def _size(source) -> int:
    import os

    try:
        return os.path.getsize(source.found[0]) if source.found else 0
    except OSError:
        return 0


__all__ = ["WeightsReader"]
