"""What the Training panel shows of a real run (pytest-qt, offscreen): every point and a full
progress bar at the end; a curves tab hidden during the run does no drawing work and shows
everything when opened; nothing polls once the run is drawn."""
from pathlib import Path

import numpy as np

from engine.project import load_project
from studio.document import Document
from studio.ui.plots.metric_plot import MetricPlot
from studio.ui.training.panel import TrainingPanel

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
WAIT_MS = 120_000


def test_a_hidden_curves_tab_does_no_work_and_shows_the_whole_run_when_opened(
        qtbot, tmp_path, monkeypatch):
    project = load_project(EXAMPLES / "digits_mlp.nnproj")
    project.path = tmp_path / "digits_mlp.nnproj"
    project.training.update(epochs=3)
    panel = TrainingPanel(Document(project, autosave_ms=0))
    qtbot.addWidget(panel)
    panel.resize(1300, 700)
    panel.show()
    events = []
    panel.extra_callbacks.append(events.append)
    panel.overrides = {"event_interval": 0.0}       # a batch event for every step
    drawn = []
    redraw = MetricPlot.redraw
    monkeypatch.setattr(MetricPlot, "redraw", lambda p: (
        drawn.append(p.title) if p.dirty and p.slot is not None else None, redraw(p)))
    panel.views.setCurrentWidget(panel.feature_maps)   # the curves are behind another tab
    qtbot.waitUntil(lambda: not panel.curves.isVisible())
    drawn.clear()
    assert panel.start()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)
    assert drawn == [] and not panel.curves.timer.isActive()
    assert panel.progress.value() == 100 and panel.progress.format() == "finished"
    assert "finished after 3 epoch" in panel.status.text()

    panel.views.setCurrentWidget(panel.curves)
    qtbot.waitUntil(lambda: not any(p.dirty for p in panel.curves.plots.values()))
    loss = panel.curves.plots["loss"]
    batches = [e for e in events if e.kind == "batch"]
    epochs = [e.metrics for e in events if e.kind == "epoch"]
    np.testing.assert_allclose(loss.step_curve.getData()[1], [b.loss for b in batches])
    np.testing.assert_allclose(loss.val_curve.getData()[1], [e["val_loss"] for e in epochs])
    assert len(loss.train_curve.data) == 3
    acc = panel.curves.plots["accuracy"]
    np.testing.assert_allclose(acc.val_curve.getData()[1], [e["val_accuracy"] for e in epochs])
    qtbot.wait(50)
    assert not panel.curves.timer.isActive()      # drawn: no timer left waking the thread
    panel.shutdown()
