"""Run one function off the GUI thread and deliver its result (or error) as a Qt signal."""
from __future__ import annotations

import atexit
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal

_alive: set[BackgroundCall] = set()   # keep running threads referenced until they end
EXIT_WAIT_MS = 60_000


@atexit.register
def _wait_for_running_calls() -> None:
    """Quitting while a call runs (a dataset preview, a teaching view's computation) must not
    crash: Qt aborts the process when a QThread is destroyed while it still runs."""
    for call in list(_alive):
        call.wait(EXIT_WAIT_MS)


def error_text(exc: BaseException) -> str:
    """An error for the user: a ProjectError's own sentence (it names the file, e.g. a
    weights file found damaged when first read), else the exception's type and message."""
    from engine.project import ProjectError

    if isinstance(exc, ProjectError) or not str(exc):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


class BackgroundCall(QThread):
    """`BackgroundCall(fn, *args).start()`; `succeeded(result)` or `failed(message, tb)`
    arrive on the GUI thread."""

    succeeded = Signal(object)
    failed = Signal(str, str)

    def __init__(self, fn: Callable[..., Any], *args, **kwargs):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.finished.connect(lambda: _alive.discard(self))

    def start(self, *a) -> None:
        _alive.add(self)
        super().start(*a)

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            self.failed.emit(error_text(exc), traceback.format_exc())
            return
        self.succeeded.emit(result)


class DaemonCall(QObject):
    """Like BackgroundCall, on a daemon Python thread: for work the application may quit
    without waiting for (a QThread still running at exit aborts the process).
    `DaemonCall(fn, *args).start()`; `succeeded(result)` / `failed(message, tb)` are emitted
    on the GUI thread, where the call object is also released.

    The thread never calls Qt: it only stores its result, which a timer of the GUI thread
    picks up. A signal emitted from a plain Python thread takes Qt's connection lock and
    then waits for the GIL, while the GUI thread, holding the GIL, may wait for that lock
    (making a widget connects signals): both threads then hang."""

    succeeded = Signal(object)
    failed = Signal(str, str)
    POLL_MS = 15

    def __init__(self, fn: Callable[..., Any], *args, **kwargs):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.thread: threading.Thread | None = None
        self._result: tuple[bool, Any] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(self.POLL_MS)
        self._poll.timeout.connect(self._deliver)

    def start(self) -> None:
        _alive_daemons.add(self)
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=getattr(self.fn, "__name__", "call"))
        self.thread.start()
        self._poll.start()

    def wait(self, timeout_ms: int) -> bool:
        if self.thread is not None:
            self.thread.join(timeout_ms / 1000)
        return self.thread is None or not self.thread.is_alive()

    def settle(self, timeout_ms: int) -> None:
        """Wait for the thread and deliver its result now (GUI thread: closing, tests)."""
        self.wait(timeout_ms)
        self._deliver()

    def _run(self) -> None:
        try:
            self._result = (True, self.fn(*self.args, **self.kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered to the GUI, never a crash
            self._result = (False, (error_text(exc), traceback.format_exc()))

    def _deliver(self) -> None:
        if self._result is None:
            return
        self._poll.stop()
        (ok, payload), self._result = self._result, None   # delivered once
        try:
            if ok:
                self.succeeded.emit(payload)
            else:
                self.failed.emit(*payload)
        finally:
            _alive_daemons.discard(self)


_alive_daemons: set[DaemonCall] = set()


class SettlesBackground:
    """Mixin for a view that recomputes in a BackgroundCall (`self._call`) started by
    `self.refresh()`, which a debounce timer (`self._debounce`) calls after edits."""

    _call: BackgroundCall | None = None

    def wait(self, timeout_ms: int = 30_000) -> None:
        """Wait for the computation under way, if any (closing, tests)."""
        if self._call is not None:
            self._call.wait(timeout_ms)

    def settle(self, timeout_ms: int = 30_000) -> None:
        """Finish a pending recomputation now and show it (screenshots, tests)."""
        from PySide6.QtCore import QCoreApplication

        if self._debounce.isActive():
            self._debounce.stop()
            self.refresh()
        self.wait(timeout_ms)
        QCoreApplication.processEvents()
