"""Live training curves: loss and every metric (train per step, raw and smoothed; train and
validation per epoch), the learning rate, a log-scale toggle, a hover read-out and dashed
overlays of earlier runs. Uses pyqtgraph's fast paths: preallocated buffers, setData from a
UI timer only for curves that changed, peak downsampling and clip-to-view."""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..insight.lazy import BuiltWhenShown
from .axis_ticks import TickAhead, stale_axes
from .budget import CostBudget
from .buffers import SmoothedBuffer
from .metric_plot import MetricPlot, Slot

EPOCH_SKIP = {"epoch", "elapsed_s", "samples_per_s", "steps_per_epoch", "global_step",
              "epochs", "time", "seconds"}
NOT_SCALAR = {"confusion_matrix"}
OVERLAY_COLOURS = [(120, 120, 120), (150, 80, 180), (40, 160, 110), (200, 60, 90),
                   (130, 110, 40)]


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


class _TimedLayout(pg.GraphicsLayoutWidget):
    """The plots' view, reporting the GUI-thread CPU seconds of each of its paints. Its
    `ticks` re-ticks its stale axes one per event-loop turn (HeldAxis)."""

    def __init__(self, on_paint):
        super().__init__()
        self._on_paint = on_paint
        self.ticks = TickAhead(self)

    def paintEvent(self, event) -> None:
        t0 = time.thread_time()
        super().paintEvent(event)
        self._on_paint(time.thread_time() - t0)


class LiveCurves(BuiltWhenShown, QWidget):
    """Feed it with `start_run(steps_per_epoch)`, `add_batches([BatchEnded])` and
    `add_epoch(metrics)` (an epoch's row: EpochEnded.metrics, a line of metrics.jsonl).
    `plots` holds every quantity's points from the start; their pyqtgraph plots are made
    when the curves are first shown, at most one per event-loop turn, and reused by the
    next run and the next project (`reset`)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False)
        self.budget = CostBudget(self.CPU_SHARE, self.MIN_REDRAW_S)
        self.plots: dict[str, MetricPlot] = {}
        self.free: list[Slot] = []         # made plots no quantity uses now
        self._running = False
        self._ran = False                  # a run started since the curves were built/reset
        self._run_generation = 0
        self._spare_due = False
        self._paint_counts = False     # the next paint shows a live redraw (budget)
        self.steps_per_epoch = 1
        self.epochs: int | None = None
        self.alpha = 0.8
        self.log = QCheckBox("log scale")
        self.log.toggled.connect(self._log_toggled)
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 0.99)
        self.smoothing.setSingleStep(0.05)
        self.smoothing.setValue(self.alpha)
        self.smoothing.setPrefix("smoothing ")
        self.smoothing.valueChanged.connect(self._smoothing_changed)
        self.hover = QLabel(" ")
        self.hover.setTextFormat(Qt.TextFormat.RichText)
        top = QHBoxLayout()
        top.addWidget(self.log)
        top.addWidget(self.smoothing)
        top.addWidget(self.hover, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        self.plot("loss")
        self.plot("lr", "learning rate")
        # the next redraw, started when points arrive and run when the budget allows (no
        # polling: every wake-up of the GUI thread preempts the training thread's core)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._redraw_due)

    @property
    def running(self) -> bool:
        """A run is on (set by the owner): no spare plot is made, and the axes re-tick in
        turns of their own (HeldAxis)."""
        return self._running

    @running.setter
    def running(self, on: bool) -> None:
        self._running = on
        if on:
            self._ran = True
            self._run_generation += 1
        if self.built:
            self.ticks.enabled = on

    # a run's end: polls for the axes' re-ticks, at most this often and this many times
    SETTLE_MS, SETTLE_POLLS = 15, 40

    def end_run(self) -> None:
        """The run ended: its last points are drawn (in a turn of the owner's choosing, not
        the end's own), with the axes held as while it ran, and the curves are idle
        (`running` False: every paint exact at once) once no axis is left to re-tick. (Hidden
        curves draw everything when shown.)"""
        self.redraw(force=True)
        self._settle(self._run_generation, self.SETTLE_POLLS)

    def _settle(self, generation: int, polls: int) -> None:
        if generation != self._run_generation or not self._running:
            return       # another run started meanwhile
        if polls > 0 and self.built and self.isVisible() and (
                self.ticks.active or stale_axes(self.view)):
            QTimer.singleShot(self.SETTLE_MS, self, lambda: self._settle(generation, polls - 1))
            return
        self.running = False

    def _build(self) -> None:
        self.view = _TimedLayout(self._painted)
        self.view.setBackground("w")
        self.layout().addWidget(self.view, 1)
        self.ticks = self.view.ticks
        self.ticks.enabled = self._running
        self._proxy = pg.SignalProxy(self.view.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._mouse_moved)

    def _render(self) -> None:
        self.redraw(force=True)

    def showEvent(self, event) -> None:
        self._stale = True        # what came while hidden was kept, not drawn
        super().showEvent(event)

    def ensure_drawn(self) -> None:
        """Every quantity on its plot and drawn now (a grab of a view not on screen)."""
        super().ensure_drawn()
        self._place(limit=len(self.plots))
        for p in self.plots.values():
            p.redraw()

    # -- plots -----------------------------------------------------------------------------------
    def plot(self, name: str, title: str | None = None) -> MetricPlot:
        """The points of a quantity, kept from the first time it is seen (its plot is made
        or reused when the curves are shown: three per row, the bottom dock is wide)."""
        if name not in self.plots:
            # the learning rate is exact: never smoothed
            p = self.plots[name] = MetricPlot(title or name, 0.0 if name == "lr" else self.alpha)
            p.set_log(self.log.isChecked() and name != "lr")
            p.set_x_span(self.epochs)
        return self.plots[name]

    def _place(self, limit: int = 1) -> bool:
        """Put the quantities without a plot on one: a free one, or up to `limit` new ones
        (20-70 ms each). True when every quantity has its plot."""
        for i, p in enumerate(self.plots.values()):
            if p.slot is not None:
                continue
            if not self.free and limit <= 0:
                return False
            if not self.free:
                limit -= 1
            slot = self.free.pop(0) if self.free else Slot()
            self.view.addItem(slot.item, row=i // 3, col=i % 3)
            p.attach(slot)
        return True

    def expect(self, names) -> None:
        """Quantities the next run will report (known from its settings and its dataset):
        their plots are placed now, while nothing runs, by the next redraw. Placed as the run
        starts, a plot joining the grid re-lays out every plot in the run's first turns."""
        new = [self.plot(name) for name in names
               if name not in NOT_SCALAR and name not in self.plots]
        if new:
            self._redraw_soon()

    def start_run(self, steps_per_epoch: int | None, epochs: int | None = None,
                  metrics: list[str] = ()) -> None:
        """Clear the curves for a run of `epochs` (fixed x range; None: auto-range). The
        plots of `metrics` are known now, not mid-run when their first value arrives."""
        self.steps_per_epoch = max(1, int(steps_per_epoch or 1))
        self.epochs = int(epochs) if epochs else None
        for name in metrics:
            if name not in NOT_SCALAR:
                self.plot(name)
        for p in self.plots.values():
            p.clear()
            p.set_x_span(self.epochs)
        self.redraw(force=True)

    def add_batches(self, batches: list) -> None:
        """Per-step points of BatchEnded events: loss, learning rate, other step values."""
        for b in batches:
            if b.steps_per_epoch:
                self.steps_per_epoch = int(b.steps_per_epoch)
            x = (b.epoch - 1) + b.step / self.steps_per_epoch
            for key, value in (("loss", b.loss), ("lr", b.lr), *b.metrics.items()):
                if _is_number(value):
                    p = self.plot(key)
                    p.step.append(x, float(value))
                    p.dirty = True
        self._redraw_soon()

    def add_epoch(self, data: dict) -> None:
        """Per-epoch points of an epoch's metrics row (train and val_ values)."""
        x = float(data["epoch"])
        for key, value in data.items():
            if key in EPOCH_SKIP or not _is_number(value):
                continue
            if not math.isfinite(float(value)):
                continue
            if key == "lr":
                if self.plots["lr"].step.n:      # per-step values already draw the schedule
                    continue
                p, buf = self.plots["lr"], self.plots["lr"].train
            elif key.startswith("val_"):
                p = self.plot(key[4:])
                buf = p.val
            else:
                p = self.plot(key)
                buf = p.train
            buf.append(x, float(value))
            p.dirty = True
        self._redraw_soon()

    # Repaint the curves at most twice a second, and less often when a redraw and the paints
    # it causes cost more than CPU_SHARE of a core (measured as they run): a repaint of the
    # plot grid is ~5-10 ms of Python in software rendering (holding the GIL the training
    # thread needs), several times that on a loaded machine. The feature maps and the
    # progress bar refresh on their own.
    MIN_REDRAW_S = 0.5
    CPU_SHARE = 0.02

    def redraw(self, force: bool = False) -> None:
        """Push changed buffers to their curves; nothing to do while the tab is hidden. A
        quantity without a plot gets one first (a new plot: one per call, outside the
        budget; the timer calls again when points arrive). The timer's redraw draws every
        changed plot in one turn, so the view paints them all in one paint (a paint has a
        large fixed part: the view, its axes' pictures, the window's flush); `force` draws
        now whatever the budget says."""
        if not self.isVisible() or not self.built:
            return
        if not self._place(limit=1):
            QTimer.singleShot(0, self, lambda: self.redraw(force=True))   # the next, next turn
        elif not self.free and not self.running and not self._ran and not self._spare_due:
            self._spare_due = True
            QTimer.singleShot(self.SPARE_AFTER_MS, self, self._make_spare)
        if not force and not self.budget.due():
            return
        dirty = [p for p in self.plots.values() if p.dirty]
        if not dirty:
            return
        # a forced redraw (a run's start or end, another project, a grab) is outside the
        # budget: its one-off paint (a plot joining the grid re-lays out all of them) must
        # not space out the live redraws for seconds
        with contextlib.nullcontext() if force else self.budget.run():
            for p in dirty:
                p.redraw()
            if self.running:
                # the axes whose range moved are re-ticked now, not each in a turn and
                # a paint of its own (HeldAxis): one paint then shows everything
                self.ticks.tick_all()
        self._paint_counts = not force

    def _painted(self, seconds: float) -> None:
        """The CPU of the paint that shows a live redraw counts towards its cost (not a
        resize's, a re-tick's or a forced redraw's)."""
        if self._paint_counts:
            self._paint_counts = False
            self.budget.add(seconds)

    def _redraw_soon(self) -> None:
        """Redraw once the budget allows (at once if it does)."""
        if not self.timer.isActive() and self.isVisible():
            self.timer.start(int(1000 * self.budget.wait()))

    def _redraw_due(self) -> None:
        self.redraw()
        if any(p.dirty for p in self.plots.values()):
            self._redraw_soon()

    # A quantity the owner did not `expect` (per-step values, a run started before the
    # dataset's profile came) gets its plot as the run begins: a spare plot is made
    # beforehand, when the curves are shown and nothing has run yet (`running` is set by the
    # owner). Not after a run: its plots are reused, and making one (20-70 ms) would stall
    # the run's end.
    SPARE_AFTER_MS = 500

    def _make_spare(self) -> None:
        self._spare_due = False
        if not self.free and not self.running and not self._ran and self.isVisible():
            self.free.append(Slot())

    # -- overlays ----------------------------------------------------------------------------
    def set_overlays(self, runs: list[tuple[str, list[dict]]]) -> None:
        """Dashed per-epoch curves of other runs: [(label, [epoch records])]."""
        specs: dict[str, list] = {name: [] for name in self.plots}
        for i, (label, records) in enumerate(runs):
            colour = OVERLAY_COLOURS[i % len(OVERLAY_COLOURS)]
            series: dict[str, tuple[list, list]] = {}
            for r in records:
                if "epoch" not in r:
                    continue
                for key, value in r.items():
                    if key in EPOCH_SKIP or not _is_number(value):
                        continue
                    xs, ys = series.setdefault(key, ([], []))
                    xs.append(float(r["epoch"]))
                    ys.append(float(value))
            for key, (xs, ys) in series.items():
                base = key.removeprefix("val_")
                self.plot(base)
                style = Qt.PenStyle.DashLine if key.startswith("val_") else Qt.PenStyle.DotLine
                specs.setdefault(base, []).append(
                    (xs, ys, pg.mkPen(colour, width=1.5, style=style),
                     f"{label} {'val' if key.startswith('val_') else ''}"))
        for name, p in self.plots.items():
            if specs.get(name) or p.overlay_specs:
                p.set_overlays(specs.get(name, []))
        self.redraw(force=True)

    def reset(self) -> None:
        """Empty loss and learning-rate plots only (another project was opened: its metrics
        and axis ranges are not this one's). The plots made so far are kept for reuse."""
        for p in self.plots.values():
            slot = p.detach()
            if slot is not None:
                self.view.removeItem(slot.item)
                self.free.append(slot)
        self.plots = {}
        self._ran = False
        self.plot("loss")
        self.plot("lr", "learning rate")
        self.start_run(None)

    # -- interaction -------------------------------------------------------------------------
    def _log_toggled(self, on: bool) -> None:
        for name, p in self.plots.items():
            if name != "lr":
                p.set_log(on)
        self._redraw_soon()

    def _smoothing_changed(self, alpha: float) -> None:
        self.alpha = alpha
        for name, p in self.plots.items():
            if name == "lr":
                continue
            xs, ys = p.step.x.copy(), p.step.y.copy()
            p.step = SmoothedBuffer(max(1024, len(xs)), alpha)
            for x, y in zip(xs, ys):
                p.step.append(x, y)
            p.dirty = True
        self._redraw_soon()

    def _mouse_moved(self, evt) -> None:
        pos = evt[0]
        for p in self.plots.values():
            if p.item is not None and p.item.sceneBoundingRect().contains(pos):
                x = p.item.vb.mapSceneToView(pos).x()
                self.hover.setText(f"epoch {x:.2f}: " + p.readout(x))
                return
