"""The live curves spread their work over event-loop turns: axes re-ticked one per turn
before the view paints (TickAhead), and the timer's redraws one plot per turn. What is shown
in the end is what one full paint would show."""
import numpy as np
from PySide6.QtCore import QTimer

from engine.train.events import BatchEnded
from studio.ui.plots import axis_ticks
from studio.ui.plots.axis_ticks import stale_axes
from studio.ui.plots.curves import LiveCurves


def _curves(qtbot, epochs=4):
    c = LiveCurves()
    qtbot.addWidget(c)
    c.resize(900, 300)
    c.show()
    qtbot.waitUntil(c.view.isVisible)
    c.start_run(4, epochs=epochs, metrics=["accuracy"])
    qtbot.waitUntil(lambda: not c.ticks.active)
    return c


def _epoch(c, e, scale=1.0):
    c.add_batches([BatchEnded(e, s, 4 * (e - 1) + s, scale * 3.0 / (e + s), 0.1 * e, 1.0, 1.0,
                              4) for s in range(1, 5)])
    c.add_epoch({"epoch": e, "loss": scale * 2.0 / e, "val_loss": scale * 2.5 / e,
                 "accuracy": 0.5 + e / 20, "val_accuracy": 0.4 + e / 20})


def test_axes_are_reticked_one_per_turn_then_painted_as_a_full_paint_would(qtbot):
    c = _curves(qtbot)
    _epoch(c, 1, scale=50.0)          # every plot's y range moves
    c.redraw(force=True)
    stale = len(stale_axes(c.view))
    assert stale >= 3 and c.ticks.active
    assert not c.view.viewport().updatesEnabled()      # no paint re-ticks them all at once
    c.ticks._step()                                    # a turn re-ticks one of them
    assert len(stale_axes(c.view)) == stale - 1 and not c.view.viewport().updatesEnabled()
    qtbot.waitUntil(lambda: not c.ticks.active)
    assert not stale_axes(c.view) and c.view.viewport().updatesEnabled()
    shown = c.view.grab().toImage()
    for item in c.view.scene().items():                # what a paint would draw itself
        if hasattr(item, "picture") and item.__class__.__name__ == "AxisItem":
            item.picture = None
    assert c.view.grab().toImage() == shown


def test_a_failing_retick_never_leaves_the_view_frozen(qtbot, monkeypatch):
    c = _curves(qtbot)

    def broken(_axis):
        raise RuntimeError("a changed pyqtgraph")

    monkeypatch.setattr(axis_ticks, "tick", broken)
    _epoch(c, 1, scale=50.0)
    c.redraw(force=True)
    qtbot.waitUntil(lambda: not c.ticks.active)
    assert c.view.viewport().updatesEnabled()


def test_a_resize_reticks_before_the_paint(qtbot):
    c = _curves(qtbot)
    _epoch(c, 1)
    c.redraw(force=True)
    qtbot.waitUntil(lambda: not c.ticks.active)
    c.resize(700, 260)                # the panel's layout changes as a run starts or ends
    qtbot.waitUntil(lambda: not c.ticks.active and not stale_axes(c.view))
    assert c.view.viewport().updatesEnabled()


def test_the_timers_redraw_draws_one_plot_per_turn_and_all_of_them(qtbot):
    c = _curves(qtbot)
    for e in (1, 2):
        _epoch(c, e)
    c.budget._last = float("-inf")    # due now
    c.redraw()
    dirty = [name for name, p in c.plots.items() if p.dirty]
    assert dirty and len(dirty) == len(c.plots) - 1   # the first drawn, the others queued
    c.timer.stop()
    qtbot.waitUntil(lambda: not any(p.dirty for p in c.plots.values()))
    for p in (c.plots["loss"], c.plots["lr"]):
        np.testing.assert_allclose(p.step_curve.getData()[1], p.step.y)
    assert len(c.plots["accuracy"].train_curve.data) == 2
    # a project opened meanwhile: the queue is dropped with the old plots
    _epoch(c, 3)
    c.budget._last = float("-inf")
    c.redraw()
    c.reset()
    assert c._queue == [] and set(c.plots) == {"loss", "lr"}
    QTimer.singleShot(0, lambda: None)
    qtbot.wait(40)
    assert all(p.step.n == 0 for p in c.plots.values())


def test_the_context_menu_is_made_when_first_asked_for(qtbot):
    """Making a plot is the largest idle stall after a run (its spare); its view's context
    menu is a third of that, so it is made on the first right-click, with the same actions."""
    c = _curves(qtbot)
    vb = c.plots["loss"].item.vb
    assert vb.menu is None and vb.menuEnabled()
    actions = vb.getContextMenus(None)
    assert vb.menu is not None and actions
    assert "View All" in [a.text() for a in vb.getMenu(None).actions()]
