"""Parts of the window built on demand: `load_widget` imports and builds a panel or dialog,
and a part that is missing or fails to build gives None (the editor still starts);
`placeholder` is the greyed label shown in its place; `AfterFirstPaint` runs start-up work
only once the window is on screen."""
from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget


def load_widget(module: str, cls: str, *args):
    """Another part of the app's widget, or None when it is missing or fails to build."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None  # that part of the app is not installed/built yet
        traceback.print_exc()
        return None
    except Exception:
        traceback.print_exc()
        return None
    try:
        return getattr(mod, cls)(*args)
    except Exception:  # a missing or broken panel must not keep the editor from starting
        traceback.print_exc()
        return None


def preimport(module: str) -> None:
    """Import `module` now if it can be (load_widget reports a failure when it builds)."""
    try:
        importlib.import_module(module)
    except Exception:  # noqa: BLE001, S110 (load_widget reports it when the panel is built)
        pass


def placeholder(text: str) -> QWidget:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setEnabled(False)
    return label


class AfterFirstPaint(QObject):
    """Start-up steps that wait until `widget` has painted for the first time: `add(fn)`
    queues a step; the steps run in order, one per event-loop turn, so the window is on
    screen first and repaints and takes input between them. A window that gets no paint
    (e.g. shown on a hidden desktop) starts them `fallback_ms` after `arm()` anyway."""

    def __init__(self, widget: QWidget, fallback_ms: int = 2000):
        super().__init__(widget)
        self.painted = False
        self._steps: list[tuple[Callable[[], object], str]] = []
        self.timings: list[tuple[str, float]] = []   # (step, GUI-thread CPU s): bench/startup
        self._fallback = QTimer(self)
        self._fallback.setSingleShot(True)
        self._fallback.setInterval(fallback_ms)
        self._fallback.timeout.connect(self._start)
        widget.installEventFilter(self)

    def add(self, step: Callable[[], object], name: str = "") -> None:
        self._steps.append((step, name or getattr(step, "__qualname__", "step")))
        if self.painted and len(self._steps) == 1:
            QTimer.singleShot(0, self._next)

    def arm(self) -> None:
        if not self.painted and not self._fallback.isActive():
            self._fallback.start()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint and not self.painted:
            self._start()
        return False

    def _start(self) -> None:
        if self.painted:
            return
        self.painted = True
        self._fallback.stop()
        self.parent().removeEventFilter(self)
        QTimer.singleShot(0, self._next)   # after this paint has reached the screen

    def _next(self) -> None:
        if not self._steps:
            return
        step, name = self._steps.pop(0)
        t0 = time.thread_time()
        try:
            step()
        except Exception:  # noqa: BLE001 - one failed step must not stop the start-up
            traceback.print_exc()
        self.timings.append((name, time.thread_time() - t0))
        if self._steps:
            QTimer.singleShot(0, self._next)
