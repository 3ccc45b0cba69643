"""Axes re-ticked one per event-loop turn. Re-ticking an axis (pyqtgraph's
`AxisItem.generateDrawSpecs`, then drawing its picture) is 3-10 ms of Python, and a paint
re-ticks every axis whose range or size changed: when a run starts (a plot joins the grid,
so every plot is resized), when the panel's layout changes, or when several plots' y ranges
move at once, that was one paint of 50-90 ms of GUI-thread CPU, the largest stall while
training. A `HeldAxis` that is stale paints its last picture and asks the view's
`TickAhead` to re-tick it in a turn of its own, after which it repaints. The live curves'
own redraw re-ticks the axes whose range it moved at once (`tick_all`), so that one paint
shows the new curves and axes: a paint costs more than a re-tick."""
from __future__ import annotations

from time import thread_time

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QPainter, QPicture


def stale_axes(view: pg.GraphicsView) -> list[pg.AxisItem]:
    """The shown axes under `view` that the next paint would re-tick."""
    scene = view.scene()
    return [item for item in (scene.items() if scene is not None else ())
            if isinstance(item, pg.AxisItem) and item.isVisible()
            and getattr(item, "picture", 0) is None]


def tick(axis: pg.AxisItem) -> None:
    """Make the picture the axis's next paint would make (AxisItem.paint's own steps)."""
    picture = QPicture()
    painter = QPainter(picture)
    try:
        if axis.style["tickFont"]:
            painter.setFont(axis.style["tickFont"])
        specs = axis.generateDrawSpecs(painter)
        if specs is not None:
            axis.drawPicture(painter, *specs)
    finally:
        painter.end()
    axis.picture = picture


class HeldAxis(pg.AxisItem):
    """An axis that, when its view's `ticks` (TickAhead) is enabled (while a run trains)
    and it was painted before, does not re-tick inside a paint: it shows its last picture
    (for a turn or two) and asks for its re-tick. Otherwise (idle: a screenshot, a resize
    by the user) it re-ticks in the paint, exact at once."""

    _shown: QPicture | None = None

    def paint(self, p, opt, widget) -> None:
        ticks = getattr(widget.parent(), "ticks", None) if widget is not None else None
        if (self.picture is None and self._shown is not None and ticks is not None
                and ticks.enabled):
            p.save()
            p.setClipRect(self.boundingRect())
            self._shown.play(p)
            p.restore()
            ticks.kick()
            return
        super().paint(p, opt, widget)
        self._shown = self.picture


class TickAhead:
    """`kick()`: re-tick the view's stale axes, one per event-loop turn, each repainted
    after its re-tick (a re-tick can widen an axis, which re-lays out and makes others
    stale: they are taken in the same way, up to `max_turns` in a row). `on_cost(seconds)`
    gets the GUI-thread CPU of each turn."""

    def __init__(self, view: pg.GraphicsView, on_cost=lambda _s: None, max_turns: int = 24):
        self.view, self.on_cost, self.max_turns = view, on_cost, max_turns
        self._turns = 0
        self.active = False
        self.enabled = False     # HeldAxis paints wait for it (the owner: while a run trains)

    def kick(self) -> None:
        if self.active:
            return
        self.active = True
        self._turns = 0
        QTimer.singleShot(0, self.view, self._step)

    def _step(self) -> None:
        t0 = thread_time()
        try:
            more = self._tick_one()
        except Exception:   # noqa: BLE001 - each axis re-ticks in its paint, as pyqtgraph's
            more = self._give_up()
        self.on_cost(thread_time() - t0)
        if more:
            QTimer.singleShot(0, self.view, self._step)
            return
        self.active = False

    def _tick_one(self) -> bool:
        """Re-tick one stale axis and repaint it; False when there is none left (or the
        turns ran out: the rest re-tick in their paint)."""
        stale = stale_axes(self.view) if self.view.isVisible() else []
        if not stale or self._turns >= self.max_turns:
            return self._give_up()
        self._turns += 1
        axis = stale[0]
        tick(axis)
        axis.update()
        return True

    def tick_all(self) -> None:
        """Re-tick every stale axis now (a redraw that moved y ranges, before its paint)."""
        try:
            for axis in stale_axes(self.view):
                tick(axis)
        except Exception:   # noqa: BLE001 - each axis re-ticks in its paint, as pyqtgraph's
            self._give_up()

    def _give_up(self) -> bool:
        """The stale axes re-tick in their next paint (pyqtgraph's own way)."""
        for axis in stale_axes(self.view):
            axis._shown = None
            axis.update()
        return False
