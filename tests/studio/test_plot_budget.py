"""The live curves are rate-limited by what their redraws and paints cost (CostBudget)."""
from studio.ui.plots import budget as budget_module
from studio.ui.plots.budget import CostBudget
from studio.ui.plots.curves import LiveCurves

from .test_plots import _feed


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_a_costly_run_spaces_the_next_ones_and_cheap_runs_bring_the_rate_back(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(budget_module, "monotonic", clock)
    b = CostBudget(share=0.02, min_interval_s=0.5, max_interval_s=5.0)
    assert b.due() and b.interval() == 0.5
    b.run()
    b.add(0.03)                 # its paints: 30 ms of GUI-thread CPU
    clock.t += 0.6
    assert b.due()              # the cost is known once the next run starts
    b.run()
    assert b.interval() == 0.03 / 0.02
    clock.t += 1.0
    assert not b.due()
    clock.t += 0.5
    assert b.due()
    b.run()
    b.add(1.0)
    b.run()
    assert b.interval() == 5.0  # capped: the curves still move on a crawling machine
    for _ in range(12):         # cheap runs: back to the minimum interval
        b.run()
    assert b.interval() == 0.5


def test_curves_wait_out_their_budget_and_count_their_paints(qtbot, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(budget_module, "monotonic", clock)
    c = LiveCurves()
    qtbot.addWidget(c)
    c.show()
    _feed(c)
    c.add_epoch({"epoch": 4, "loss": 0.2})
    c.redraw()                  # a live redraw (a forced one is outside the budget) ...
    qtbot.waitUntil(lambda: c.budget._current > 0)   # ... and its paint were counted
    c.budget.add(0.2)           # as if they had cost 200 ms: 10 s at 2 %, capped at 5 s
    loss = c.plots["loss"]
    c.budget.run()              # (a run completes the previous one's cost)
    shown = len(loss.step_curve.getData()[1])
    c.add_epoch({"epoch": 5, "loss": 0.1})
    clock.t += 1.0
    c.redraw()
    assert loss.dirty and len(loss.train_curve.getData()[1]) == 4   # not yet
    clock.t += 5.0
    c.redraw()
    assert not loss.dirty and len(loss.train_curve.getData()[1]) == 5
    assert len(loss.step_curve.getData()[1]) == shown


def test_a_runs_start_does_not_space_out_its_live_redraws(qtbot):
    """A run's start re-lays out the plots (a metric's plot joins the grid) and re-ticks
    every axis: a one-off cost of tens of ms that, counted, kept the curves still for
    seconds. Only a live redraw and the paint that shows it count."""
    c = LiveCurves()
    qtbot.addWidget(c)
    c.resize(900, 300)
    c.show()
    qtbot.waitUntil(lambda: bool(c.free))     # the spare plot, made while idle
    c.running = True
    c.start_run(4, epochs=10, metrics=["accuracy"])
    qtbot.waitUntil(lambda: not c.ticks.active and not c.timer.isActive())
    assert c.budget.interval() == c.MIN_REDRAW_S and c.budget._current == 0
    c.add_epoch({"epoch": 1, "loss": 1.0, "accuracy": 0.5})
    qtbot.waitUntil(lambda: not c.plots["loss"].dirty)        # redrawn on its own, at once
    qtbot.waitUntil(lambda: c.budget._current > 0)            # its paint counted
