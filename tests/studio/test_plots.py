"""Live curves: buffers, per-step/epoch points, smoothing, log scale, overlays, hover."""
import numpy as np

from engine.train.events import BatchEnded
from studio.ui.plots.buffers import CurveBuffer, SmoothedBuffer, ema
from studio.ui.plots.curves import LiveCurves


def test_curve_buffer_grows_and_keeps_points():
    b = CurveBuffer(4)
    for i in range(10):
        b.append(i, i * i)
    assert b.n == 10 and list(b.x) == list(range(10)) and b.y[-1] == 81


def test_smoothed_buffer_matches_ema():
    vals = np.random.default_rng(0).normal(size=50)
    b = SmoothedBuffer(8, alpha=0.7)
    for i, v in enumerate(vals):
        b.append(i, v)
    np.testing.assert_allclose(b.smoothed, ema(vals, 0.7))
    assert abs(b.smoothed[0] - vals[0]) < 1e-12      # bias-corrected: starts at the data


def _feed(curves, epochs=3, steps=4):
    batches, rows = [], []
    for e in range(1, epochs + 1):
        for s in range(1, steps + 1):
            batches.append(BatchEnded(e, s, (e - 1) * steps + s, 1.0 / (e * s), 0.1, 10.0,
                                      1.0, steps))
        rows.append({"epoch": e, "loss": 1.0 / e, "val_loss": 1.2 / e, "lr": 0.1,
                     "accuracy": 0.5 + e / 10, "val_accuracy": 0.4 + e / 10,
                     "elapsed_s": e, "samples_per_s": 10.0,
                     "val_confusion_matrix": [[1, 0], [0, 1]]})
    curves.start_run(steps)
    curves.add_batches(batches)
    for r in rows:
        curves.add_epoch(r)
    curves.redraw(force=True)
    return batches, rows


def test_curves_show_exactly_the_reported_points(qtbot):
    c = LiveCurves()
    qtbot.addWidget(c)
    c.show()
    batches, rows = _feed(c)
    loss = c.plots["loss"]
    x, y = loss.step_curve.getData()
    np.testing.assert_allclose(y, [b.loss for b in batches])
    np.testing.assert_allclose(x, [(b.epoch - 1) + b.step / 4 for b in batches])
    np.testing.assert_allclose(loss.val_curve.getData()[1], [r["val_loss"] for r in rows])
    acc = c.plots["accuracy"]
    np.testing.assert_allclose(acc.train_curve.getData()[1], [r["accuracy"] for r in rows])
    np.testing.assert_allclose(acc.val_curve.getData()[1], [r["val_accuracy"] for r in rows])
    assert "confusion_matrix" not in c.plots and "steps_per_epoch" not in c.plots
    assert set(c.plots) == {"loss", "lr", "accuracy"}
    for p in c.plots.values():             # the fast paths are on
        assert p.item.ctrl.clipToViewCheck.isChecked()
        assert p.item.ctrl.downsampleCheck.isChecked()
    # constant learning rate: a sane y range, not float noise
    lo, hi = c.plots["lr"].item.vb.viewRange()[1]
    assert lo < 0.1 < hi and hi - lo > 0.05


def test_log_scale_smoothing_hover_and_overlays(qtbot):
    c = LiveCurves()
    qtbot.addWidget(c)
    c.show()
    _feed(c)
    c.log.setChecked(True)
    assert c.plots["loss"].item.ctrl.logYCheck.isChecked()
    assert not c.plots["lr"].item.ctrl.logYCheck.isChecked()
    c.smoothing.setValue(0.0)
    c.redraw(force=True)
    raw, smooth = c.plots["loss"].step_curve.getData()[1], c.plots["loss"].smooth_curve.getData()[1]
    np.testing.assert_allclose(raw, smooth)
    text = c.plots["loss"].readout(2.0)
    assert "val 0.6" in text and "loss" in text
    c.set_overlays([("run-1", [{"epoch": 1, "loss": 2.0, "val_loss": 2.5},
                               {"epoch": 2, "loss": 1.5, "val_loss": 2.0}])])
    overlays = c.plots["loss"].overlays
    assert len(overlays) == 2
    ys = sorted(tuple(o.yData) for o in overlays)   # getData() is log10 in log mode
    assert ys == [(2.0, 1.5), (2.5, 2.0)]
    c.set_overlays([])
    assert c.plots["loss"].overlays == []


def _in_view(plot) -> bool:
    (x0, x1), (y0, y1) = plot.item.vb.viewRange()
    log = plot.item.ctrl.logYCheck.isChecked()
    for buf in (plot.step, plot.train, plot.val):
        ys = np.log10(buf.y) if log else buf.y
        if buf.n and not (x0 <= buf.x.min() and buf.x.max() <= x1
                          and y0 <= ys.min() and ys.max() <= y1):
            return False
    return True


def test_a_live_run_has_a_fixed_x_range_and_every_point_in_view(qtbot):
    c = LiveCurves()
    qtbot.addWidget(c)
    c.resize(600, 400)
    c.show()
    c.start_run(4, epochs=5, metrics=["accuracy", "confusion_matrix"])
    assert set(c.plots) == {"loss", "lr", "accuracy"}     # made before the first epoch
    rng = np.random.default_rng(1)
    ranges = []
    for e in range(1, 6):
        c.add_batches([BatchEnded(e, s, 4 * (e - 1) + s, 3.0 / (e * s) + rng.random(), 0.1,
                                  1.0, 1.0, 4) for s in range(1, 5)])
        c.add_epoch({"epoch": e, "loss": 2.0 / e, "val_loss": 2.5 / e,
                     "accuracy": 0.5 + e / 20, "val_accuracy": 0.4 + e / 20})
        c.redraw(force=True)
        for p in c.plots.values():
            x0, x1 = p.item.vb.viewRange()[0]
            assert x0 <= 0 and 5 <= x1 < 5.5           # the whole run, from the start
            assert _in_view(p), p.title
        ranges.append(tuple(c.plots["accuracy"].item.vb.viewRange()[1]))
    assert len(set(ranges)) < len(ranges)      # the y range moves only when it must
    c.log.setChecked(True)
    c.redraw(force=True)
    assert _in_view(c.plots["loss"])
    c.start_run(1)                               # a finished run's curves: auto-range again
    assert c.plots["loss"].item.vb.autoRangeEnabled()[0]


def _drawn_in_view(plot) -> bool:
    """Every drawn point (curves and epoch markers, as drawn: log10 in log mode) in view."""
    (x0, x1), (y0, y1) = plot.item.vb.viewRange()
    for item in (plot.step_curve, plot.val_curve, plot.train_curve, plot.val_points):
        x, y = item.getData()
        if x is not None and len(x) and not (x0 <= np.min(x) and np.max(x) <= x1
                                             and y0 <= np.min(y) and np.max(y) <= y1):
            return False
    return True


def test_epoch_markers_are_added_one_per_epoch_not_rebuilt(qtbot, monkeypatch):
    """One marker per epoch for train and validation; a new epoch adds its marker and a move
    of the y range redraws no marker (a rebuild of every symbol was the largest GUI stall
    while training); a new run starts with none of the last run's markers."""
    c = LiveCurves()
    qtbot.addWidget(c)
    c.resize(600, 400)
    c.show()
    c.start_run(4, epochs=6, metrics=["accuracy"])
    rebuilt = []
    for p in c.plots.values():
        for points in (p.train_curve, p.val_points):
            monkeypatch.setattr(points, "setData", lambda *a, **k: rebuilt.append(a))
    y_ranges = set()
    for e in range(1, 7):
        # a loss that grows by orders of magnitude: the y range must move
        c.add_batches([BatchEnded(e, s, 4 * (e - 1) + s, 10.0 ** (e - 1) * (1 + s / 10), 0.1,
                                  1.0, 1.0, 4) for s in range(1, 5)])
        c.add_epoch({"epoch": e, "loss": 10.0 ** (e - 1), "val_loss": 1.5 * 10.0 ** (e - 1),
                     "accuracy": 0.5 + e / 20, "val_accuracy": 0.4 + e / 20})
        c.redraw(force=True)
        y_ranges.add(tuple(c.plots["loss"].item.vb.viewRange()[1]))
        for name in ("loss", "accuracy"):
            p = c.plots[name]
            assert len(p.train_curve.data) == len(p.val_points.data) == e
            assert _drawn_in_view(p), (name, e)
    assert len(y_ranges) > 1 and not rebuilt
    loss = c.plots["loss"]
    np.testing.assert_allclose(loss.train_curve.getData()[1], [10.0 ** (e - 1) for e in range(1, 7)])
    np.testing.assert_allclose(loss.val_points.getData()[1], loss.val_curve.getData()[1])
    monkeypatch.undo()
    c.log.setChecked(True)          # the markers follow the log scale as the lines do
    c.redraw(force=True)
    np.testing.assert_allclose(loss.train_curve.getData()[1], [e - 1 for e in range(1, 7)])
    assert _drawn_in_view(loss)
    c.log.setChecked(False)
    c.start_run(4, epochs=6)        # the next run: no marker of this one
    c.add_epoch({"epoch": 1, "loss": 0.5, "val_loss": 0.6})
    c.redraw(force=True)
    assert len(loss.train_curve.data) == len(loss.val_points.data) == 1
    assert len(c.plots["accuracy"].train_curve.data) == 0
    assert _drawn_in_view(loss)


def test_another_project_shows_none_of_the_last_ones_markers(qtbot):
    c = LiveCurves()
    qtbot.addWidget(c)
    c.show()
    _feed(c)
    slots = {p.slot for p in c.plots.values()}
    c.reset()                        # another project: its plots reuse the made ones
    c.redraw(force=True)
    assert {p.slot for p in c.plots.values()} <= slots
    for p in c.plots.values():
        assert len(p.train_curve.data) == len(p.val_points.data) == 0
        assert len(p.val_curve.getData()[0] if p.val_curve.getData()[0] is not None else []) == 0
    for slot in c.free:              # the spare plots too
        assert len(slot.train_points.data) == len(slot.val_points.data) == 0
