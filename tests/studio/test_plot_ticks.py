"""While a run trains, the live curves spread their work over event-loop turns: a stale
axis paints its last picture and is re-ticked in a turn of its own (HeldAxis, TickAhead),
and the timer's redraw draws every changed plot in one turn (one paint). What is shown in the end is what one full
paint would show; idle, every paint is exact at once."""
import numpy as np

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
    c.running = True                  # (the panel sets it while a run trains)
    c.start_run(4, epochs=epochs, metrics=["accuracy"])
    axes = [p.item.getAxis(side) for p in c.plots.values() for side in ("left", "bottom")]
    qtbot.waitUntil(lambda: not c.ticks.active and all(a._shown for a in axes))   # painted
    return c


def _epoch(c, e, scale=1.0):
    c.add_batches([BatchEnded(e, s, 4 * (e - 1) + s, scale * 3.0 / (e + s), 0.1 * e, 1.0, 1.0,
                              4) for s in range(1, 5)])
    c.add_epoch({"epoch": e, "loss": scale * 2.0 / e, "val_loss": scale * 2.5 / e,
                 "accuracy": 0.5 + e / 20, "val_accuracy": 0.4 + e / 20})


def _full_paint_is(c, shown) -> bool:
    for item in c.view.scene().items():                # what a paint would draw itself
        if hasattr(item, "picture") and item.__class__.__name__ == "HeldAxis":
            item.picture = item._shown = None
    return c.view.grab().toImage() == shown


def test_a_redraw_reticks_the_axes_it_moved_before_its_paint(qtbot):
    c = _curves(qtbot)
    _epoch(c, 1, scale=50.0)          # every plot's y range moves
    c.redraw(force=True)
    assert not stale_axes(c.view)
    c.view.viewport().repaint()       # one paint shows the new curves and axes
    assert not c.ticks.active
    assert _full_paint_is(c, c.view.grab().toImage())


def test_axes_are_reticked_one_per_turn_and_end_as_a_full_paint_would_draw_them(qtbot):
    c = _curves(qtbot)
    _epoch(c, 1)
    c.redraw(force=True)
    for i, p in enumerate(c.plots.values()):   # every y range moves (e.g. a zoom)
        p.item.setYRange(0, 10 * (i + 2), padding=0)
    stale = len(stale_axes(c.view))
    assert stale >= 3
    c.view.viewport().repaint()       # a paint shows their last pictures, re-ticks none ...
    assert len(stale_axes(c.view)) == stale and c.ticks.active
    c.ticks._step()                   # ... and each turn re-ticks one of them
    assert len(stale_axes(c.view)) == stale - 1
    qtbot.waitUntil(lambda: not c.ticks.active)
    assert not stale_axes(c.view)
    assert _full_paint_is(c, c.view.grab().toImage())


def test_when_no_run_trains_a_paint_reticks_at_once(qtbot):
    """Idle (a screenshot, the user resizing the window), axes are exact in every paint."""
    c = _curves(qtbot)
    c.running = False
    _epoch(c, 1, scale=50.0)
    c.redraw(force=True)
    assert stale_axes(c.view)
    c.view.viewport().repaint()
    assert not stale_axes(c.view) and not c.ticks.active


def test_a_failing_retick_leaves_it_to_the_paint(qtbot, monkeypatch):
    c = _curves(qtbot)

    def broken(_axis):
        raise RuntimeError("a changed pyqtgraph")

    monkeypatch.setattr(axis_ticks, "tick", broken)
    _epoch(c, 1, scale=50.0)
    c.redraw(force=True)
    c.view.viewport().repaint()
    qtbot.waitUntil(lambda: not c.ticks.active)
    c.view.viewport().repaint()       # pyqtgraph's own re-tick in the paint
    assert not stale_axes(c.view)


def test_a_resize_reticks_its_axes_in_turns_of_their_own(qtbot):
    c = _curves(qtbot)
    _epoch(c, 1)
    c.redraw(force=True)
    qtbot.waitUntil(lambda: not c.ticks.active and not stale_axes(c.view))
    c.resize(700, 260)                # the panel's layout changes as a run starts or ends
    qtbot.waitUntil(lambda: not c.ticks.active and not stale_axes(c.view))


def test_the_timers_redraw_draws_every_changed_plot_in_one_turn(qtbot):
    c = _curves(qtbot)
    c.timer.stop()
    for e in (1, 2):
        _epoch(c, e)
    c.budget._last = float("-inf")    # due now
    c.redraw()                        # every changed plot drawn in this one call
    assert not any(p.dirty for p in c.plots.values())
    for p in (c.plots["loss"], c.plots["lr"]):
        np.testing.assert_allclose(p.step_curve.getData()[1], p.step.y)
    assert len(c.plots["accuracy"].train_curve.data) == 2
    # a project opened meanwhile: nothing of it stays
    _epoch(c, 3)
    c.reset()
    assert set(c.plots) == {"loss", "lr"}
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
