"""Comparison views of a study: parallel coordinates over the searched settings coloured by
the metric, and a Pareto view of the metric against parameters, MACs or training time.
Clicking a trial's line or point selects it (`trial_clicked(number)`)."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.sweep.results import StudyView, TrialRecord, value_text
from engine.sweep.space import Dimension

COST_CHOICES = [("parameters", "params"), ("MACs per sample", "macs"),
                ("training time (s)", "seconds")]
BEST_PEN = pg.mkPen("#e0245e", width=3.5)
SELECTED_PEN = pg.mkPen("#2d7ff9", width=3)


def _colour_map():
    return pg.colormap.get("viridis")


def metric_colours(view: StudyView, trials: list[TrialRecord]) -> list:
    """A colour per trial: brighter is better (whichever way the metric goes)."""
    vals = np.array([t.value for t in trials], dtype=float)
    if not len(vals):
        return []
    lo, hi = np.nanmin(vals), np.nanmax(vals)
    frac = (vals - lo) / (hi - lo) if hi > lo else np.full(len(vals), 0.5)
    if view.minimize:
        frac = 1 - frac
    cmap = _colour_map()
    return [cmap.map(float(f), mode="qcolor") for f in np.nan_to_num(frac, nan=0.0)]


def _axis_position(d: Dimension, value) -> float | None:
    """A value's height on its axis, 0..1."""
    if d.kind == "choice":
        keys = [repr(c) for c in d.choices]
        return keys.index(repr(value)) / max(1, len(keys) - 1) if repr(value) in keys \
            else None
    if not isinstance(value, (int, float)):
        return None
    lo, hi = float(d.low), float(d.high)
    if d.log and value > 0:
        return (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (float(value) - lo) / (hi - lo) if hi > lo else 0.5


class ParallelCoordinates(pg.PlotWidget):
    trial_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.lines: dict[int, np.ndarray] = {}     # trial number -> y per axis
        self.items: dict[int, pg.PlotCurveItem] = {}
        self.selected: set[int] = set()
        self.best: int | None = None
        self.scene().sigMouseClicked.connect(self._clicked)

    def show_study(self, view: StudyView | None, dims: list[Dimension],
                   labels: list[str]) -> None:
        self.clear()
        self.lines, self.items = {}, {}
        if view is None or not dims:
            return
        done = [t for t in view.trials if t.value is not None and
                math.isfinite(t.value) and t.state in ("complete", "pruned")]
        values = [t.value for t in done]
        n = len(dims)
        for i, (d, label) in enumerate(zip([*dims, None], [*labels, view.metric])):
            self.addItem(pg.PlotCurveItem([i, i], [0, 1], pen=pg.mkPen("#9aa1aa", width=1)))
            lo, hi = (d.describe().strip("[]{}").split(", ")[:2] if d is not None else
                      [value_text(min(values)), value_text(max(values))] if values else
                      ["", ""])
            if d is not None and d.kind == "choice":
                lo, hi = value_text(d.choices[0]), value_text(d.choices[-1])
            for text, y, anchor in ((label, 1.2, (0.5, 0.5)), (hi, 1.0, (0.5, 1.05)),
                                    (lo, 0.0, (0.5, -0.05))):
                item = pg.TextItem(str(text), color="#20242a" if y > 1 else "#5c6470",
                                   anchor=anchor)
                item.setPos(i, y)
                self.addItem(item)
        colours = metric_colours(view, done)
        vlo, vhi = (min(values), max(values)) if values else (0, 1)
        best = view.best
        self.best = best.number if best else None
        for t, colour in zip(done, colours):
            ys = [_axis_position(d, t.values.get(d.key)) for d in dims]
            ys.append((t.value - vlo) / (vhi - vlo) if vhi > vlo else 0.5)
            if any(y is None for y in ys):
                continue
            ys = np.array(ys, dtype=float)
            pen = pg.mkPen(colour, width=1.6,
                           style=Qt.PenStyle.DashLine if t.state == "pruned" else
                           Qt.PenStyle.SolidLine)
            item = pg.PlotCurveItem(np.arange(n + 1), ys, pen=pen)
            self.addItem(item)
            self.lines[t.number], self.items[t.number] = ys, item
        self.setXRange(-0.4, n + 0.4, padding=0)
        self.setYRange(-0.16, 1.28, padding=0)
        self._restyle()

    def set_selected(self, numbers) -> None:
        self.selected = set(numbers)
        self._restyle()

    def _restyle(self) -> None:
        for number, item in self.items.items():
            if number in self.selected:
                item.setPen(SELECTED_PEN)
                item.setZValue(20)
            elif number == self.best:
                item.setPen(BEST_PEN)
                item.setZValue(10)
            else:
                item.setZValue(0)

    def nearest(self, x: float, y: float) -> int | None:
        """The trial whose line passes closest to (x, y) in axis units."""
        best, dist = None, math.inf
        for number, ys in self.lines.items():
            i = min(max(int(math.floor(x)), 0), len(ys) - 2) if len(ys) > 1 else 0
            f = x - i
            at = ys[i] * (1 - f) + ys[min(i + 1, len(ys) - 1)] * f
            if abs(at - y) < dist:
                best, dist = number, abs(at - y)
        return best if dist < 0.06 else None

    def _clicked(self, event) -> None:
        pos = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        number = self.nearest(pos.x(), pos.y())
        if number is not None:
            self.trial_clicked.emit(number)


class ParetoView(QWidget):
    """The metric against a cost; the trials nobody beats on both are joined by a line."""

    trial_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cost = QComboBox()
        for label, key in COST_CHOICES:
            self.cost.addItem(label, key)
        self.cost.currentIndexChanged.connect(lambda _i: self._draw())
        self.info = QLabel()
        self.info.setStyleSheet("color: #5c6470;")
        top = QHBoxLayout()
        top.addWidget(QLabel("x axis:"))
        top.addWidget(self.cost)
        top.addWidget(self.info, 1)
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        for side in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(side).enableAutoSIPrefix(False)
        self.scatter = pg.PlotDataItem(pen=None, symbol="o")
        self.scatter.sigPointsClicked.connect(self._point_clicked)
        self.front = pg.PlotDataItem(pen=pg.mkPen("#e0245e", width=2))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        self.view: StudyView | None = None
        self.selected: set[int] = set()

    def show_study(self, view: StudyView | None) -> None:
        self.view = view
        self._draw()

    def set_selected(self, numbers) -> None:
        self.selected = set(numbers)
        self._draw()

    def cost_key(self) -> str:
        return self.cost.currentData()

    def _draw(self) -> None:
        plot = self.plot.getPlotItem()
        plot.clear()
        view, key = self.view, self.cost_key()
        if view is None:
            return
        pts = [t for t in view.trials if t.state == "complete" and t.value is not None
               and getattr(t, key) is not None and math.isfinite(t.value)]
        log_x = key in ("params", "macs") and all(getattr(t, key) > 0 for t in pts)
        plot.setLogMode(x=log_x, y=False)
        plot.setLabel("bottom", self.cost.currentText())
        plot.setLabel("left", view.metric)
        colours = metric_colours(view, pts)
        front = view.pareto(key)
        if len(front) > 1:
            self.front.setData([getattr(t, key) for t in front], [t.value for t in front])
            plot.addItem(self.front)
        chosen = [t.number in self.selected for t in pts]
        self.scatter.setData(
            [getattr(t, key) for t in pts], [t.value for t in pts], data=[t.number for t in pts],
            symbolBrush=[pg.mkBrush(c) for c in colours],
            symbolSize=[14 if c else 10 for c in chosen],
            symbolPen=[SELECTED_PEN if c else pg.mkPen("#20242a", width=0.6) for c in chosen])
        plot.addItem(self.scatter)
        better = "lower" if view.minimize else "higher"
        self.info.setText(f"{len(pts)} complete trials; {len(front)} on the Pareto front "
                          f"(red: no other trial is both cheaper and {better} {view.metric})")

    def _point_clicked(self, _item, points, *_):
        if len(points):
            self.trial_clicked.emit(int(points[0].data()))
