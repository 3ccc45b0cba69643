"""One quantity of the live curves (loss, a metric, the learning rate): its points, kept from
the start, and, while the curves are on screen, the pyqtgraph plot drawing them. Making a
plot costs 20-70 ms of GUI-thread CPU (several times that on a loaded machine), so a plot
is made once and reused: another run or another project puts its quantity on a plot that
already exists (a `Slot`) instead of making a new one."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .axis_ticks import HeldAxis
from .buffers import CurveBuffer, SmoothedBuffer

TRAIN_COLOUR = (52, 120, 220)
VAL_COLOUR = (230, 120, 30)


def _keyed(title: str) -> str:
    """The title with the colour key of every plot (a legend inside a plot of the short
    bottom panel covered the curves)."""
    def swatch(rgb, text):
        return f'<span style="color:rgb{rgb}">{text}</span>'
    return (f"{title} &nbsp; {swatch(TRAIN_COLOUR, '&#9473; train')} &nbsp; "
            f"{swatch(VAL_COLOUR, '&#9679; validation')}")


def _headroom(lo: float, hi: float, vlo: float, vhi: float, log: bool) -> tuple[float, float]:
    """A y range for data in [lo, hi] that was shown in [vlo, vhi]: room to move before the
    next change (a curve leaving the range gets 25% more on that side: losses fall,
    accuracies rise), ends rounded outwards to a 1-2-5 step of about an eighth of the range,
    and a non-negative quantity that spans more than half of [0, max] (most losses,
    accuracies) drawn from 0, a bound that never moves."""
    bottom = 0.0 if not log and lo >= 0 and lo < 0.5 * hi else None
    span = hi - (lo if bottom is None else bottom)
    if bottom is None:
        bottom = lo - (0.25 if lo < vlo else 0.05) * span
    top = hi + (0.25 if hi > vhi else 0.05) * span
    step = _nice_step((top - bottom) / 8)
    return np.floor(bottom / step) * step, np.ceil(top / step) * step


def _nice_step(x: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is >= x (> 0)."""
    power = 10.0 ** np.floor(np.log10(x))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= x)


class _LazyMenuViewBox(pg.ViewBox):
    """A ViewBox whose context menu (a third of the cost of making a plot) is made when it
    is first asked for: a right-click shows the same menu as before."""

    def __init__(self):
        super().__init__(enableMenu=False)
        self.state["enableMenu"] = True

    def getMenu(self, ev):
        if self.menu is None:
            self.setMenuEnabled(True)
        return self.menu

    def getContextMenus(self, event):
        return self.getMenu(event).actions() if self.menuEnabled() else []


class Slot:
    """A PlotItem with the curves of a quantity: train per step (raw and smoothed), the
    validation line and the per-epoch points of train and validation. Made once, reused for
    other quantities.

    What changes while a run trains costs little: the epoch points are scatter items of
    their own that get one point added per epoch (a PlotDataItem with symbols rebuilds all
    its symbols on every change of the view range), no curve recomputes anything when the
    y range moves (no dynamic range limit: the range always holds all points), and the left
    axis only widens (a narrower label would re-lay out the whole grid, re-ticking every
    axis in it)."""

    def __init__(self):
        self.item = item = pg.PlotItem(viewBox=_LazyMenuViewBox(), axisItems={
            side: HeldAxis(side) for side in ("left", "bottom")})
        # no grid: translucent grid lines cost ~3x the painting time of the curves
        item.setLabel("bottom", "epoch")
        item.setDownsampling(ds=True, auto=True, mode="peak")
        item.setClipToView(True)
        item.disableAutoRange(axis="y")      # MetricPlot fits y itself, x per run
        for side in ("left", "bottom", "top", "right"):
            # no SI-prefix relabelling (an HTML re-layout of the label, hidden axes too) on
            # every range change; two tick levels (a third, of tiny unlabelled ticks, cost a
            # third of a re-tick)
            item.getAxis(side).enableAutoSIPrefix(False)
            item.getAxis(side).setStyle(maxTickLevel=1)
        left = item.getAxis("left")
        if "autoReduceTextSpace" in left.style:     # pyqtgraph >= 0.13.4
            left.setStyle(autoReduceTextSpace=False)
        faint = pg.mkPen(TRAIN_COLOUR + (70,), width=1)
        self.step_curve = item.plot(pen=faint, dynamicRangeLimit=None)
        self.smooth_curve = item.plot(pen=pg.mkPen(TRAIN_COLOUR, width=2), name="train",
                                      dynamicRangeLimit=None)
        self.val_curve = item.plot(pen=pg.mkPen(VAL_COLOUR, width=2), name="validation",
                                   dynamicRangeLimit=None)
        self.train_points = self._points(TRAIN_COLOUR)
        self.val_points = self._points(VAL_COLOUR)

    def _points(self, colour) -> pg.ScatterPlotItem:
        points = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(colour), pen=None)
        self.item.addItem(points)
        return points


class MetricPlot:
    """A quantity's points (`step`, `train`, `val` buffers) and overlays of earlier runs;
    drawn on a Slot once `attach`ed (while the curves are shown). Until then `item` and the
    curve attributes are None."""

    def __init__(self, title: str, alpha: float):
        self.title = title
        self.step = SmoothedBuffer(alpha=alpha)
        self.train = CurveBuffer(64)
        self.val = CurveBuffer(64)
        self.log = False
        self.x_span: float | None = None
        self.overlay_specs: list[tuple] = []   # (xs, ys, pen, name) of earlier runs' curves
        self.overlays: list = []               # their curves, as drawn
        self.dirty = False
        self._refit = True
        self._drawn: dict = {}          # curve -> buffer version last drawn
        self.slot: Slot | None = None

    # the slot's parts (None while not attached)
    item = property(lambda self: self.slot.item if self.slot else None)
    step_curve = property(lambda self: self.slot.step_curve if self.slot else None)
    smooth_curve = property(lambda self: self.slot.smooth_curve if self.slot else None)
    train_curve = property(lambda self: self.slot.train_points if self.slot else None)
    val_curve = property(lambda self: self.slot.val_curve if self.slot else None)
    val_points = property(lambda self: self.slot.val_points if self.slot else None)

    # -- drawing on a slot -----------------------------------------------------------------------
    def attach(self, slot: Slot) -> None:
        """Draw on `slot` (a new one, or one another quantity used before)."""
        self.slot, item = slot, slot.item
        item.setTitle(_keyed(self.title) if self.title == "loss" else self.title, size="9pt")
        item.setLogMode(y=self.log)
        self._apply_x_span()
        self._drawn.clear()
        self.dirty = self._refit = True
        self._draw_overlays()

    def detach(self) -> Slot | None:
        """Stop drawing; the slot is emptied for reuse."""
        slot, self.slot = self.slot, None
        if slot is not None:
            for c in self.overlays:
                slot.item.removeItem(c)
            for curve in (slot.step_curve, slot.smooth_curve, slot.val_curve,
                          slot.train_points, slot.val_points):
                curve.setData([], [])
        self.overlays = []
        return slot

    def set_x_span(self, epochs: float | None) -> None:
        """A fixed x range of the whole run (the x axis is then never re-ticked while the
        curves grow: a repaint of the axes is most of a redraw); None: auto-range x."""
        self.x_span = epochs
        if self.slot:
            self._apply_x_span()

    def _apply_x_span(self) -> None:
        """(Only what changes: each call re-ranges the view, and a run's start sets it twice.)"""
        vb = self.item.vb
        if self.x_span:
            pad = 0.02 * self.x_span
            if vb.autoRangeEnabled()[0] or not np.allclose(vb.viewRange()[0],
                                                           (-pad, self.x_span + pad)):
                self.item.setXRange(0, self.x_span, padding=0.02)   # (auto-range x: off)
        elif not vb.autoRangeEnabled()[0]:
            self.item.enableAutoRange(x=True)

    def set_log(self, on: bool) -> None:
        self.log = on
        if self.slot:
            self.item.setLogMode(y=on)
        self.dirty = self._refit = True

    def set_overlays(self, specs: list[tuple]) -> None:
        """Earlier runs' curves: [(xs, ys, pen, name)], drawn with a legend naming them."""
        if self.slot:
            for c in self.overlays:
                self.item.removeItem(c)
        self.overlays, self.overlay_specs = [], list(specs)
        if self.slot:
            self._draw_overlays()

    def _draw_overlays(self) -> None:
        item = self.item
        if self.overlay_specs and item.legend is None:  # names the earlier runs only
            item.addLegend(offset=(-5, 5), labelTextSize="7pt")
        self.overlays = [item.plot(xs, ys, pen=pen, name=name)
                         for xs, ys, pen, name in self.overlay_specs]

    def clear(self) -> None:
        for b in (self.step, self.train, self.val):
            b.clear()
        self.dirty = self._refit = True

    def redraw(self) -> None:
        if not self.dirty or self.slot is None:
            return
        self.dirty = False
        slot = self.slot
        # setData only for curves whose buffer changed (epoch points change once an epoch)
        if self._drawn.get("step") != self.step.version:
            self._drawn["step"] = self.step.version
            slot.step_curve.setData(self.step.x, self.step.y)
            slot.smooth_curve.setData(self.step.x, self.step.smoothed)
        if self._drawn.get("val") != self.val.version:
            self._drawn["val"] = self.val.version
            slot.val_curve.setData(self.val.x, self.val.y)
        self._draw_points(slot.train_points, self.train)
        self._draw_points(slot.val_points, self.val)
        self._fit_y_range()

    def _draw_points(self, points, buf) -> None:
        """Add the buffer's new points to its scatter item; redraw them all only when the
        buffer was cleared or the y scale changed. (The scatter item does not follow the
        plot's log mode: its y values are given in log10 here.)"""
        key = (buf.generation, self.log)
        drawn_key, drawn_n = self._drawn.get(points, (None, 0))
        if drawn_key == key and drawn_n == buf.n:
            return
        if drawn_key != key or drawn_n > buf.n:
            drawn_n = 0
            points.clear()
        x, y = buf.x[drawn_n:], buf.y[drawn_n:]
        if self.log:
            keep = np.isfinite(y) & (y > 0)
            x, y = x[keep], np.log10(y[keep])
        if len(x):
            points.addPoints(x=x, y=y)
        self._drawn[points] = (key, buf.n)

    def _fit_y_range(self) -> None:
        """Keep all points in view, but move the y range only when a point leaves it or the
        data shrank to under half of it: each change re-ticks and repaints the axis. A new
        range has headroom and ends on round numbers, so that it holds for a while. A
        constant curve (a fixed learning rate) gets a sensible range instead of float-noise
        ticks."""
        ys = [b.y for b in (self.step, self.train, self.val) if b.n]
        if not ys:
            return
        y = np.concatenate(ys)
        log = self.log
        y = y[np.isfinite(y) & (y > 0)] if log else y[np.isfinite(y)]
        if not y.size:
            return
        if log:
            y = np.log10(y)
        vb = self.item.vb
        if vb.autoRangeEnabled()[1]:
            self.item.disableAutoRange(axis="y")
        lo, hi = float(y.min()), float(y.max())
        vlo, vhi = vb.viewRange()[1]
        refit, self._refit = self._refit, False
        if hi - lo <= 1e-6 * max(abs(hi), 1e-12):
            half = (0.15 if log else abs(hi) * 0.5) or 1.0
            if refit or not np.allclose((vlo, vhi), (lo - half, hi + half)):
                self.item.setYRange(lo - half, hi + half, padding=0)
            return
        if not refit and lo >= vlo and hi <= vhi and (hi - lo) >= 0.5 * (vhi - vlo):
            return
        self.item.setYRange(*_headroom(lo, hi, vlo, vhi, log), padding=0)

    def readout(self, x: float) -> str:
        parts = []
        for name, buf in (("train", self.step), ("train/epoch", self.train),
                          ("val", self.val)):
            if buf.n == 0:
                continue
            i = int(np.clip(np.searchsorted(buf.x, x), 0, buf.n - 1))
            if i > 0 and abs(buf.x[i - 1] - x) < abs(buf.x[i] - x):
                i -= 1
            y = buf.smoothed[i] if buf is self.step else buf.y[i]
            parts.append(f"{name} {y:.4g}")
        return f"<b>{self.title}</b> " + " · ".join(parts) if parts else ""
