"""A run's start and end in a real main window (the real trainer, offscreen): the end's work is
spread over event-loop turns, so the test checks what a user sees once the loop has settled —
forms enabled, banner gone, document unlocked, every plot drawn exactly from the run's
points, no axis left stale — across a journey (train A, open B, train B), and that Train
clicked right after a run ended starts a run that the previous run's end leaves alone."""
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer

from studio.ui.plots.axis_ticks import stale_axes
from studio.ui.training.run_edges import expected_metrics

from .test_project_world import WAIT_MS, _copy, win  # noqa: F401 (the fixture)


def _open(qtbot, win, path: Path) -> list:
    """Open `path`; the events of the panel's runs (recorded on the trainer thread)."""
    assert win.open_file(path)
    win.show_tab("training")
    panel = win.panels["training"]
    events: list = []
    panel.extra_callbacks[:] = [c for c in panel.extra_callbacks
                                if not isinstance(getattr(c, "__self__", None), list)]
    panel.extra_callbacks.append(events.append)
    qtbot.waitUntil(lambda: win.document.fit.profile is not None, timeout=WAIT_MS)
    return events


def _settled(panel) -> bool:
    """The run's end steps ran and the window painted what they changed."""
    return (panel.worker is None and not panel.curves.running
            and panel.settings.isEnabled() and panel.dataset.isEnabled()
            and not stale_axes(panel.curves.view))


def _last_run(events: list) -> list:
    """The events of the last run (from its 'started' on)."""
    starts = [i for i, e in enumerate(events) if e.kind == "started"]
    return events[starts[-1]:] if starts else []


def _xy(curve) -> tuple[np.ndarray, np.ndarray]:
    """A curve's points as drawn (pyqtgraph gives None for an empty curve)."""
    x, y = curve.getData()
    return (np.asarray([] if x is None else x, float), np.asarray([] if y is None else y, float))


def _assert_end_state(panel, doc, events) -> None:
    """What a user sees once a run ended and the event loop settled."""
    events = _last_run(events)
    assert not doc.locked and not panel.banner.isVisible()
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.settings.isEnabled() and panel.dataset.isEnabled()
    curves = panel.curves
    assert not stale_axes(curves.view) and not curves.ticks.active
    epochs = [e.metrics for e in events if e.kind == "epoch"]
    batches = [e for e in events if e.kind == "batch"]
    loss = curves.plots["loss"]
    np.testing.assert_allclose(_xy(loss.val_curve)[1], [e["val_loss"] for e in epochs])
    np.testing.assert_allclose(_xy(loss.step_curve)[1], [b.loss for b in batches])
    for name, plot in curves.plots.items():
        assert plot.slot is not None and not plot.dirty, name
        x, y = _xy(plot.step_curve)
        np.testing.assert_array_equal(x, plot.step.x)
        np.testing.assert_array_equal(y, plot.step.y)
        np.testing.assert_array_equal(_xy(plot.val_curve)[1], plot.val.y)
        assert len(plot.train_curve.data) == plot.train.n, name
    started = next(e for e in events if e.kind == "started")
    for metric in started.metrics:
        np.testing.assert_allclose(curves.plots[metric].val.y,
                                   [e[f"val_{metric}"] for e in epochs])


def _train_and_settle(qtbot, panel, events) -> None:
    events.clear()
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert panel.document.locked and panel.banner.isVisible()
    assert not panel.settings.isEnabled() and not panel.dataset.isEnabled()
    qtbot.waitUntil(lambda: _settled(panel), timeout=WAIT_MS)


def test_a_runs_end_is_complete_once_settled_across_projects(qtbot, win, tmp_path):
    a = _copy("digits_mlp", tmp_path, epochs=2)
    b = _copy("xor_mlp", tmp_path, epochs=3)
    panel = win.panels["training"]
    for path in (a, b):
        events = _open(qtbot, win, path)
        doc = win.document
        panel.views.setCurrentWidget(panel.curves)   # (B opens on its decision boundary)
        # the run's metric plots are placed before Train, while nothing runs
        expected = expected_metrics(doc)
        qtbot.waitUntil(lambda names=expected: all(
            m in panel.curves.plots and panel.curves.plots[m].slot for m in names),
            timeout=WAIT_MS)
        _train_and_settle(qtbot, panel, events)
        started = next(e for e in events if e.kind == "started")
        assert list(started.metrics) == expected      # as the trainer chose them
        assert "finished after" in panel.status.text()
        _assert_end_state(panel, doc, events)


def test_train_clicked_right_after_a_run_ended_starts_a_clean_run(qtbot, win, tmp_path):
    events = _open(qtbot, win, _copy("digits_mlp", tmp_path, epochs=1))
    panel = win.panels["training"]
    ended = []

    def again(running: bool) -> None:   # in the end's own turn: before its steps ran
        if not running and not ended:
            ended.append(True)
            panel.document.project.training["epochs"] = 200    # a run long enough to look at
            QTimer.singleShot(0, lambda: qtbot.mouseClick(panel.train_button,
                                                          Qt.MouseButton.LeftButton))

    panel.running_changed.connect(again)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(ended) and panel.worker is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: sum(e.kind == "batch" for e in _last_run(events)) >= 2,
                    timeout=WAIT_MS)
    qtbot.wait(200)    # the first run's end steps were due meanwhile: they left this one alone
    assert panel.worker is not None and panel.document.locked and panel.banner.isVisible()
    assert not panel.settings.isEnabled() and not panel.dataset.isEnabled()
    assert panel.curves.running and panel.stop_button.isEnabled()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _settled(panel), timeout=WAIT_MS)
    assert "stopped" in panel.status.text()
    _assert_end_state(panel, win.document, events)
