"""Where the GUI thread's CPU goes while a run trains, by component. Every Qt event the
thread delivers goes through QApplication.notify, which `SplitApp` overrides to time it
with the thread's CPU clock; `watch(obj, "method", name)` also times chosen Python slots.
Time is exclusive (an event or slot nested in another counts for itself only), so the
components add up to the thread's CPU while `SplitApp.counting` is on.

Events are named by what receives them: a timer's own name (`name_timer`), a widget's class
and the named view it is in (`name_widget`: paints of the curves, of the progress bar, ...),
else the receiver's class. The instrument costs a few µs per event: use it to attribute,
not to time the throughput (bench/gui_overhead.py --split runs it in its GUI rounds)."""
from __future__ import annotations

import collections
import functools
import time

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QWidget

EVENT_NAMES = {QEvent.Type.Paint: "paint", QEvent.Type.UpdateRequest: "update request",
               QEvent.Type.LayoutRequest: "layout request", QEvent.Type.Timer: "timer",
               QEvent.Type.MetaCall: "queued call", QEvent.Type.Resize: "resize",
               QEvent.Type.Move: "move", QEvent.Type.Polish: "polish",
               QEvent.Type.StyleChange: "style change", QEvent.Type.ShowToParent: "show",
               QEvent.Type.Show: "show", QEvent.Type.Hide: "hide",
               QEvent.Type.DeferredDelete: "deferred delete",
               QEvent.Type.GraphicsSceneResize: "scene resize"}


class SplitApp(QApplication):
    """A QApplication that times what its thread does, by component, while `counting`."""

    def __init__(self, argv):
        super().__init__(argv)
        self.counting = False
        self.cpu: collections.Counter = collections.Counter()    # component -> CPU s
        self.calls: collections.Counter = collections.Counter()
        self._stack: list[float] = []     # children's CPU so far, per open frame
        self._names: dict[int, str] = {}  # id(object) -> component name
        self._views: list[tuple[QWidget, str]] = []

    # -- naming ------------------------------------------------------------------------------
    def name_timer(self, timer, name: str) -> None:
        self._names[id(timer)] = name

    def name_widget(self, widget: QWidget, name: str) -> None:
        """Events of `widget` and of every widget inside it are `name: <event>`."""
        self._views.append((widget, name))

    def _component(self, obj, event) -> str:
        kind = EVENT_NAMES.get(event.type(), "other event")
        name = self._names.get(id(obj))
        if name is not None:
            return name if kind == "timer" else f"{name}: {kind}"
        if isinstance(obj, QWidget):
            for view, view_name in self._views:
                try:
                    if obj is view or view.isAncestorOf(obj):
                        return f"{view_name}: {kind}"
                except RuntimeError:     # the view was deleted
                    continue
            return f"{type(obj).__name__}: {kind}"
        return f"({type(obj).__name__}): {kind}"

    # -- timing ------------------------------------------------------------------------------
    def timed(self, name: str, fn, *args):
        """Run fn(*args), its exclusive CPU time counted as `name`."""
        if not self.counting:
            return fn(*args)
        self._stack.append(0.0)
        t0 = time.thread_time()
        try:
            return fn(*args)
        finally:
            spent = time.thread_time() - t0
            children = self._stack.pop()
            self.cpu[name] += spent - children
            self.calls[name] += 1
            if self._stack:
                self._stack[-1] += spent

    def notify(self, obj, event):
        if not self.counting:
            return super().notify(obj, event)
        return self.timed(self._component(obj, event), super().notify, obj, event)

    def watch(self, obj, method: str, name: str) -> None:
        """Time `obj.method` as `name` (a slot connected later calls the wrapper)."""
        fn = getattr(obj, method)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return self.timed(name, lambda: fn(*args, **kwargs))
        setattr(obj, method, wrapper)

    def reset(self) -> None:
        self.cpu.clear()
        self.calls.clear()
        self._views.clear()
        self._names.clear()


def name_panel(app: SplitApp, panel, maps) -> None:
    """Name a Training panel's parts, and a second feature-map view `maps`, and time the
    slots its worker's signals call (before panel.start(), which connects them)."""
    app.name_timer(panel.curves.timer, "curves timer (redraw)")
    for widget, name in ((panel.controls, "run controls"), (panel.curves, "curves"),
                         (panel.feature_maps, "feature maps (panel)"),
                         (maps, "feature maps (2nd view)"), (panel, "panel")):
        app.name_widget(widget, name)
    for obj, method, name in (
            (panel.curves, "add_batches", "curves.add_batches"),
            (panel.curves, "add_epoch", "curves.add_epoch"),
            (panel, "_on_progress", "progress: kept"),
            (panel, "_on_epoch", "epoch: curves + status text"),
            (panel.feature_maps, "show_activation", "feature maps (panel) update"),
            (maps, "show_activation", "feature maps (2nd view) update"),
            (panel.gradients, "add_norms", "gradients.add_norms")):
        app.watch(obj, method, name)


def table(cpu: dict, calls: dict, seconds: float, top: int = 25) -> list[dict]:
    """Rows of the largest components: CPU ms per second of training, calls per second and
    µs per call."""
    rows = []
    for name, s in sorted(cpu.items(), key=lambda kv: -kv[1])[:top]:
        n = calls.get(name, 0)
        rows.append({"component": name, "ms_per_s": 1000 * s / seconds,
                     "calls_per_s": n / seconds, "us_per_call": 1e6 * s / max(n, 1)})
    return rows
