"""Re-tick a view's axes one per event-loop turn before it paints. Re-ticking an axis
(pyqtgraph's `AxisItem.generateDrawSpecs`, then drawing its picture) is 3-10 ms of Python, and
a paint re-ticks every axis whose range or size changed: when a run starts (a plot joins the
grid, so every plot is resized) or when several plots' y ranges move at once, that was one
paint of 50-90 ms of GUI-thread CPU, the largest stall while training. Here the view's paints
wait while its stale axes are re-ticked, one per turn, and then one paint shows them all."""
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


class TickAhead:
    """`kick()` after changing the view's plots (with any layout change applied): if an axis
    is stale, the view's viewport stops painting and the stale axes are re-ticked one per
    event-loop turn; then it paints once. A re-tick can widen an axis, which re-lays out and
    makes others stale: they are taken in the same way, up to `max_turns`. `on_cost(seconds)`
    gets the GUI-thread CPU of each turn."""

    def __init__(self, view: pg.GraphicsView, on_cost=lambda _s: None, max_turns: int = 24):
        self.view, self.on_cost, self.max_turns = view, on_cost, max_turns
        self._turns = 0
        self.active = False

    def kick(self) -> None:
        if self.active or not self.view.isVisible() or not stale_axes(self.view):
            return
        self.active = True
        self._turns = 0
        self.view.viewport().setUpdatesEnabled(False)
        QTimer.singleShot(0, self.view, self._step)

    def _step(self) -> None:
        t0 = thread_time()
        try:
            more = self._tick_one()
        except Exception:   # noqa: BLE001 - the paint re-ticks it; never leave the view frozen
            more = False
        self.on_cost(thread_time() - t0)
        if more:
            QTimer.singleShot(0, self.view, self._step)
            return
        self.active = False
        self.view.viewport().setUpdatesEnabled(True)    # one paint of everything

    def _tick_one(self) -> bool:
        """Re-tick one stale axis; False when there is none left (or the turns ran out)."""
        stale = stale_axes(self.view) if self.view.isVisible() else []
        if not stale or self._turns >= self.max_turns:
            return False
        self._turns += 1
        tick(stale[0])
        return True
