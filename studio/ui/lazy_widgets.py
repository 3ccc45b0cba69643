"""Parts of the window built on demand: `load_widget` imports and builds a panel or dialog,
and a part that is missing or fails to build gives None (the editor still starts);
`placeholder` is the greyed label shown in its place; `AfterFirstPaint` runs start-up work
only once the window is on screen, in event-loop turns; `BackgroundImports` imports the
modules that work needs on a thread beforehand."""
from __future__ import annotations

import importlib
import inspect
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)


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


class BackgroundImports:
    """Imports modules on a daemon thread, in the order they are asked for. An import on the
    GUI thread is one event-loop turn that cannot be split (pyqtgraph, numpy, networkx: 0.1-0.3
    s each); on a thread it holds the GIL for a few ms at a time, and the window stays live.
    The GUI thread must not import a module while the thread imports it (it would wait on the
    module's import lock): a start-up step waits with `wait(modules)` until they are in."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._running = False
        self._thread: threading.Thread | None = None

    def request(self, modules: Iterable[str]) -> None:
        with self._lock:
            self._pending.extend(m for m in modules if m not in sys.modules)
            if self._pending and not self._running:
                self._running = True
                self._thread = threading.Thread(target=self._run, name="background-imports",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                module = self._pending[0]
            preimport(module)
            with self._lock:
                self._pending.remove(module)

    def finish(self, timeout_s: float) -> bool:
        """Drop the modules not begun and wait (at most `timeout_s`) for the one being
        imported: the app quits only then (see studio.app.wait_for_imports). True if done."""
        with self._lock:
            del self._pending[1:]
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, timeout_s))
        return thread is None or not thread.is_alive()

    def ready(self, modules: Iterable[str] | None = None) -> bool:
        """Whether `modules` (all asked-for ones if None) are imported, or failed to."""
        with self._lock:
            return not (self._pending if modules is None
                        else set(modules).intersection(self._pending))

    def wait(self, modules: Iterable[str] | None = None, poll_ms: int = 10) -> Iterator[int]:
        """A start-up step for AfterFirstPaint: polls every `poll_ms` until `modules` are in."""
        modules = None if modules is None else tuple(modules)
        while not self.ready(modules):
            yield poll_ms


def built_in_steps(steps: Iterator, in_steps: bool) -> Iterator:
    """A widget's build `steps` (a generator yielding the name of each part built): run to
    the end now, or, with `in_steps`, left to the caller to run one part at a time (the
    app's start-up does, one part per event-loop turn)."""
    if not in_steps:
        for _part in steps:
            pass
    return steps


def placeholder(text: str) -> QWidget:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setEnabled(False)
    return label


class AfterFirstPaint(QObject):
    """Start-up steps that wait until `widget` has painted for the first time: `add(fn)`
    queues a step; the steps run in order, one per event-loop turn, so the window is on
    screen first and repaints and takes input between them. A step that returns a generator
    runs in pieces: one piece per turn, each up to the generator's next `yield`; a yielded
    number is a pause in ms before the next piece (a wait: the event loop idles), a yielded
    string names the piece done. A window that gets no paint (e.g. shown on a hidden
    desktop) starts the steps `fallback_ms` after `arm()` anyway."""

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

    def add(self, step: Callable[[], object], name: str = "", first: bool = False) -> None:
        """Queue `step`; with `first`, ahead of the steps not begun yet (a part the user has
        just asked for)."""
        entry = (step, name or getattr(step, "__qualname__", "step"))
        if first and self._steps:
            self._steps.insert(1, entry)   # the step at 0 may be part-way through
        else:
            self._steps.append(entry)
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
        step, name = self._steps[0]
        t0 = time.thread_time()
        piece = _DONE
        try:
            if inspect.isgenerator(step):
                piece = next(step, _DONE)
            else:
                result = step()
                if inspect.isgenerator(result):   # its pieces run from the next turn on
                    self._steps[0] = (result, name)
                    piece = "start"
        except Exception:  # noqa: BLE001 - one failed step must not stop the start-up
            traceback.print_exc()
        pause = 0
        if piece is _DONE:
            self._steps.pop(0)
            self.timings.append((name, time.thread_time() - t0))
        elif isinstance(piece, (int, float)):
            pause = int(piece)   # waiting, not working: no timing
        else:
            self.timings.append((f"{name}: {piece or 'a piece'}", time.thread_time() - t0))
        if self._steps:
            QTimer.singleShot(pause, self._next)


_DONE = object()   # a generator step has no more pieces


def settings_frame(owner: QWidget, left_px: int, min_left_px: int,
                   header: QWidget | None = None) -> tuple[QVBoxLayout, QVBoxLayout]:
    """A panel's frame: its settings column (scrolled) beside a right side that takes the
    extra width. Made before the parts, so that each goes straight in (re-parenting a
    finished part re-polishes it under the app's style sheet). Returns the two columns.
    `header` goes above the scrolled column: showing or hiding it changes only the height
    of the column's viewport, never the layout of the right side (its plots)."""
    left, right = QWidget(), QWidget()
    columns = QVBoxLayout(left), QVBoxLayout(right)
    for column in columns:
        column.setContentsMargins(4, 4, 4, 4)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(left)
    scroll.setMinimumWidth(min_left_px)
    split = QSplitter(Qt.Orientation.Horizontal)
    if header is None:
        split.addWidget(scroll)
    else:
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(header)
        column.addWidget(scroll, 1)
        split.addWidget(side)
    split.addWidget(right)
    split.setStretchFactor(1, 1)
    split.setSizes([left_px, 900])
    lay = QHBoxLayout(owner)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(split)
    return columns
