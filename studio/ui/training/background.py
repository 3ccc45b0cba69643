"""Run one function off the GUI thread and deliver its result (or error) as a Qt signal."""
from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

_alive: set[BackgroundCall] = set()   # keep running threads referenced until they end


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
            self.failed.emit(f"{type(exc).__name__}: {exc}" if str(exc) else
                             type(exc).__name__, traceback.format_exc())
            return
        self.succeeded.emit(result)
