"""Live training curves: loss and every metric (train per step, raw and smoothed; train and
validation per epoch), the learning rate, a log-scale toggle, a hover read-out and dashed
overlays of earlier runs. Uses pyqtgraph's fast paths: preallocated buffers, setData from a
UI timer only for curves that changed, peak downsampling and clip-to-view."""
from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .budget import CostBudget
from .buffers import CurveBuffer, SmoothedBuffer

EPOCH_SKIP = {"epoch", "elapsed_s", "samples_per_s", "steps_per_epoch", "global_step",
              "epochs", "time", "seconds"}
NOT_SCALAR = {"confusion_matrix"}
TRAIN_COLOUR = (52, 120, 220)
VAL_COLOUR = (230, 120, 30)
OVERLAY_COLOURS = [(120, 120, 120), (150, 80, 180), (40, 160, 110), (200, 60, 90),
                   (130, 110, 40)]


def _keyed(title: str) -> str:
    """The title with the colour key of every plot (a legend inside a plot of the short
    bottom panel covered the curves)."""
    def swatch(rgb, text):
        return f'<span style="color:rgb{rgb}">{text}</span>'
    return (f"{title} &nbsp; {swatch(TRAIN_COLOUR, '&#9473; train')} &nbsp; "
            f"{swatch(VAL_COLOUR, '&#9679; validation')}")


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


class MetricPlot:
    """One plot: train per step (raw + smoothed), train per epoch and validation per epoch."""

    def __init__(self, item: pg.PlotItem, title: str, alpha: float):
        self.item, self.title = item, title
        item.setTitle(_keyed(title) if title == "loss" else title, size="9pt")
        # no grid: translucent grid lines cost ~3x the painting time of the curves
        item.setLabel("bottom", "epoch")
        item.setDownsampling(ds=True, auto=True, mode="peak")
        item.setClipToView(True)
        for side in ("left", "bottom"):
            # no SI-prefix relabelling (an HTML re-layout of the label) on every range change
            item.getAxis(side).enableAutoSIPrefix(False)
        self.step = SmoothedBuffer(alpha=alpha)
        self.train = CurveBuffer(64)
        self.val = CurveBuffer(64)
        faint = pg.mkPen(TRAIN_COLOUR + (70,), width=1)
        self.step_curve = item.plot(pen=faint)
        self.smooth_curve = item.plot(pen=pg.mkPen(TRAIN_COLOUR, width=2), name="train")
        self.train_curve = item.plot(pen=None, symbol="o", symbolSize=5,
                                     symbolBrush=TRAIN_COLOUR, symbolPen=None,
                                     name="train (epoch)")
        self.val_curve = item.plot(pen=pg.mkPen(VAL_COLOUR, width=2), symbol="o",
                                   symbolSize=5, symbolBrush=VAL_COLOUR, symbolPen=None,
                                   name="validation")
        self.overlays: list = []
        self.dirty = False
        self.x_span: float | None = None
        self._refit = True
        self._drawn: dict = {}          # curve -> buffer version last drawn

    def set_x_span(self, epochs: float | None) -> None:
        """A fixed x range of the whole run (the x axis is then never re-ticked while the
        curves grow: a repaint of the axes is most of a redraw); None: auto-range x."""
        self.x_span = epochs
        if epochs:
            self.item.enableAutoRange(x=False)
            self.item.setXRange(0, epochs, padding=0.02)
        else:
            self.item.enableAutoRange(x=True)

    def clear(self) -> None:
        for b in (self.step, self.train, self.val):
            b.clear()
        self.dirty = self._refit = True

    def redraw(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        # setData only for curves whose buffer changed (epoch points change once an epoch)
        for curves, buf in (((self.step_curve, self.smooth_curve), self.step),
                            ((self.train_curve,), self.train), ((self.val_curve,), self.val)):
            if self._drawn.get(curves[0]) == buf.version:
                continue
            self._drawn[curves[0]] = buf.version
            curves[0].setData(buf.x, buf.y)
            if len(curves) > 1:
                curves[1].setData(buf.x, buf.smoothed)
        self._fit_y_range()

    def _fit_y_range(self) -> None:
        """Keep all points in view, but move the y range only when a point leaves it or the
        data shrank to under half of it (each change re-ticks and repaints the axis). A
        constant curve (a fixed learning rate) gets a sensible range instead of float-noise
        ticks."""
        ys = [b.y for b in (self.step, self.train, self.val) if b.n]
        if not ys:
            return
        y = np.concatenate(ys)
        log = self.item.ctrl.logYCheck.isChecked()
        y = y[np.isfinite(y) & (y > 0)] if log else y[np.isfinite(y)]
        if not y.size:
            return
        if log:
            y = np.log10(y)
        self.item.disableAutoRange(axis="y")
        lo, hi = float(y.min()), float(y.max())
        if hi - lo <= 1e-6 * max(abs(hi), 1e-12):
            half = (0.15 if log else abs(hi) * 0.5) or 1.0
            self.item.setYRange(lo - half, hi + half, padding=0)
            return
        vlo, vhi = self.item.vb.viewRange()[1]
        refit, self._refit = self._refit, False
        if not refit and lo >= vlo and hi <= vhi and (hi - lo) >= 0.5 * (vhi - vlo):
            return
        # room to move before the next change: a curve leaving the range gets 25% more on
        # that side (losses fall, accuracies rise); a non-negative quantity that spans more
        # than half of [0, max] (most losses, accuracies) is drawn from 0, a bound that
        # never moves
        span = hi - lo
        below = 0.25 if lo < vlo else 0.05
        above = 0.25 if hi > vhi else 0.05
        bottom = lo - below * span
        if not log and lo >= 0 and lo < 0.5 * hi:
            bottom = 0.0
        self.item.setYRange(bottom, hi + above * span, padding=0)

    def set_log(self, on: bool) -> None:
        self.item.setLogMode(y=on)
        self.dirty = self._refit = True

    def readout(self, x: float) -> str:
        parts = []
        for name, buf, values in (("train", self.step, None), ("train/epoch", self.train, None),
                                  ("val", self.val, None)):
            if buf.n == 0:
                continue
            i = int(np.clip(np.searchsorted(buf.x, x), 0, buf.n - 1))
            if i > 0 and abs(buf.x[i - 1] - x) < abs(buf.x[i] - x):
                i -= 1
            y = buf.smoothed[i] if buf is self.step else buf.y[i]
            parts.append(f"{name} {y:.4g}")
        return f"<b>{self.title}</b> " + " · ".join(parts) if parts else ""


class _TimedLayout(pg.GraphicsLayoutWidget):
    """The plots' view, reporting the GUI-thread CPU seconds of each of its paints."""

    def __init__(self, on_paint):
        super().__init__()
        self._on_paint = on_paint

    def paintEvent(self, event) -> None:
        t0 = time.thread_time()
        super().paintEvent(event)
        self._on_paint(time.thread_time() - t0)


class LiveCurves(QWidget):
    """Feed it with `start_run(steps_per_epoch)`, `add_batches([BatchEnded])` and
    `add_epoch(metrics)` (an epoch's row: EpochEnded.metrics, a line of metrics.jsonl)."""

    def __init__(self, parent: QWidget | None = None, fps: int = 10):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False)
        self.budget = CostBudget(self.CPU_SHARE, self.MIN_REDRAW_S)
        self.view = _TimedLayout(self.budget.add)
        self.view.setBackground("w")
        self.plots: dict[str, MetricPlot] = {}
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
        lay.addWidget(self.view, 1)
        self.plot("loss")
        self.plot("lr", "learning rate")
        self._proxy = pg.SignalProxy(self.view.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._mouse_moved)
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / fps))
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # -- plots -----------------------------------------------------------------------------------
    def plot(self, name: str, title: str | None = None) -> MetricPlot:
        """The plot of a quantity, created (three per row: the bottom dock is wide and short)
        the first time it is seen."""
        if name not in self.plots:
            if self.plots and len(self.plots) % 3 == 0:
                self.view.nextRow()
            item = self.view.addPlot()
            # the learning rate is exact: never smoothed
            self.plots[name] = MetricPlot(item, title or name,
                                          0.0 if name == "lr" else self.alpha)
            self.plots[name].set_log(self.log.isChecked() and name != "lr")
            self.plots[name].set_x_span(self.epochs)
        return self.plots[name]

    def start_run(self, steps_per_epoch: int | None, epochs: int | None = None,
                  metrics: list[str] = ()) -> None:
        """Clear the curves for a run of `epochs` (fixed x range; None: auto-range). The
        plots of `metrics` are made now, not mid-run when their first value arrives."""
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

    # Repaint the curves at most twice a second, and less often when a redraw and the paints
    # it causes cost more than CPU_SHARE of a core (measured as they run): a repaint of the
    # plot grid is ~5-10 ms of Python in software rendering (holding the GIL the training
    # thread needs), several times that on a loaded machine. The feature maps and the
    # progress bar refresh on their own.
    MIN_REDRAW_S = 0.5
    CPU_SHARE = 0.02

    def redraw(self, force: bool = False) -> None:
        """Push changed buffers to their curves; nothing to do while the tab is hidden."""
        if not self.isVisible():
            return
        if not force and not (self.budget.due() and any(p.dirty for p in self.plots.values())):
            return
        with self.budget.run():
            for p in self.plots.values():
                p.redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.redraw(force=True)

    # -- overlays ----------------------------------------------------------------------------
    def set_overlays(self, runs: list[tuple[str, list[dict]]]) -> None:
        """Dashed per-epoch curves of other runs: [(label, [epoch records])]."""
        for p in self.plots.values():
            for c in p.overlays:
                p.item.removeItem(c)
            p.overlays = []
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
                p = self.plot(base)
                style = Qt.PenStyle.DashLine if key.startswith("val_") else Qt.PenStyle.DotLine
                if p.item.legend is None:  # names the earlier runs only (the title keys ours)
                    p.item.addLegend(offset=(-5, 5), labelTextSize="7pt")
                curve = p.item.plot(xs, ys, pen=pg.mkPen(colour, width=1.5, style=style),
                                    name=f"{label} {'val' if key.startswith('val_') else ''}")
                p.overlays.append(curve)

    def reset(self) -> None:
        """Empty loss and learning-rate plots only (another project was opened: its metrics
        and axis ranges are not this one's)."""
        self.view.clear()
        self.plots = {}
        self.plot("loss")
        self.plot("lr", "learning rate")
        self.start_run(None)

    # -- interaction -------------------------------------------------------------------------
    def _log_toggled(self, on: bool) -> None:
        for name, p in self.plots.items():
            if name != "lr":
                p.set_log(on)

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

    def _mouse_moved(self, evt) -> None:
        pos = evt[0]
        for p in self.plots.values():
            if p.item.sceneBoundingRect().contains(pos):
                x = p.item.vb.mapSceneToView(pos).x()
                self.hover.setText(f"epoch {x:.2f}: " + p.readout(x))
                return
