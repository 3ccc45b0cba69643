"""Work that follows an edit but need not be done before the canvas shows it: the rest of its
validation, wire labels out of view, panel refreshes.

Each task runs once however often it was asked for before it ran (ten quick edits, one
refresh), and one task runs per turn of the event loop, so input and painting go between
them: an edit on a big graph shows within a frame, and the panels follow in the next ones.
"""
from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, QTimer


class IdleQueue(QObject):
    """Coalesced deferred calls: `add(fn)` runs `fn()` on a later turn of the event loop."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._tasks: dict[Callable[[], object], None] = {}
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.run_next)

    def add(self, fn: Callable[[], object], first: bool = False) -> None:
        """Run `fn` later (once, however often it is added before it runs); `first`: before
        the tasks already waiting (the next step of work they depend on)."""
        if first:
            self._tasks.pop(fn, None)
            self._tasks = {fn: None, **self._tasks}
        else:
            self._tasks[fn] = None
        if not self._timer.isActive():
            self._timer.start()

    def pending(self) -> bool:
        return bool(self._tasks)

    def run_next(self) -> None:
        """Run the oldest task now (the next one is left for the next turn)."""
        if not self._tasks:
            return
        fn = next(iter(self._tasks))
        del self._tasks[fn]
        try:
            owner = getattr(fn, "__self__", None)
            if not isinstance(owner, QObject) or shiboken6.isValid(owner):   # not closed
                fn()
        finally:
            if self._tasks:
                self._timer.start()

    def flush(self) -> None:
        """Run every task now (tests, and before something reads what the panels show)."""
        self._timer.stop()
        while self._tasks:
            self.run_next()
        self._timer.stop()


__all__ = ["IdleQueue"]
