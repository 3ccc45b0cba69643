"""The Decision boundary tab on real projects (pytest-qt, offscreen, the real trainer): it shows
the document's model at once, follows a training run live, separates XOR's corners at the end,
moves one Step at a time, and its noise / validation-share controls are undoable edits."""
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from engine.graph import Graph
from engine.project import Project
from studio.document import Document
from studio.ui.training.panel import TrainingPanel
from tests.studio.test_training_panel import WAIT_MS, _wait_done, make_panel  # noqa: F401

CORNERS = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], np.float32)
XOR = [0, 0, 1, 1]


def _ready(qtbot, tab):
    qtbot.waitUntil(lambda: tab.plot.regions is not None and tab._call is not None
                    and tab._call.isFinished(), timeout=WAIT_MS)
    tab.settle()


def test_boundary_changes_while_xor_trains_and_ends_separating_the_corners(qtbot, make_panel):
    panel, doc, events = make_panel("xor_mlp", epochs=80)
    tab = panel.boundary
    assert panel.views.currentWidget() is tab            # a 2-number model opens on it
    _ready(qtbot, tab)
    before = tab.plot.rgb.copy()
    assert len(tab.plot.train_items) == 2 and len(tab.plot.val_items) == 2   # two classes
    assert "fresh initialisation" in tab.status.text()
    shown = []
    tab.frame.connect(lambda r: shown.append(r))
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.frames_shown >= 3, timeout=WAIT_MS)
    mid = tab.plot.rgb.copy()
    assert not np.array_equal(before, mid)                 # it moves while training
    assert not tab.noise.isEnabled()                       # the data is locked during a run
    _wait_done(qtbot, panel)
    assert events[-1].kind == "finished" and events[-1].reason == "completed"
    steps = [r.step for r in shown if r.step is not None]
    assert steps and steps == sorted(steps)
    # the last live frame and the trained weights adopted by the document both separate them
    assert list(shown[-1].predict(CORNERS)) == XOR
    _ready(qtbot, tab)
    assert list(tab.plot.regions.predict(CORNERS)) == XOR
    assert "the trained weights" in tab.status.text()
    assert not np.array_equal(mid, tab.plot.rgb)


def test_each_step_redraws_the_regions_once_more(qtbot, make_panel):
    panel, _doc, _events = make_panel("xor_mlp", epochs=3)
    tab = panel.boundary
    _ready(qtbot, tab)
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.worker.paused_step == 1 and tab.plot.regions.step == 1,
                    timeout=WAIT_MS)
    first = tab.plot.rgb.copy()
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.plot.regions.step == 2, timeout=WAIT_MS)
    assert panel.worker.trainer.global_step == 2
    assert "after step 2" in tab.status.text()
    assert not np.array_equal(first, tab.plot.rgb)
    panel.stop()
    _wait_done(qtbot, panel)


def _points(tab):
    return np.concatenate([np.column_stack(i.getData()) for i in tab.plot.train_items])


def test_noise_and_validation_share_are_undoable_dataset_edits(qtbot, make_panel):
    panel, doc, _events = make_panel("xor_mlp")
    tab = panel.boundary
    _ready(qtbot, tab)
    clean = _points(tab)
    tab.noise.setValue(0.3)
    tab.noise.editingFinished.emit()
    assert doc.project.dataset["noise"] == 0.3
    qtbot.waitUntil(lambda: len(_points(tab)) == len(clean) and
                    not np.allclose(_points(tab), clean), timeout=WAIT_MS)
    spread = np.abs(_points(tab) - np.round(_points(tab))).mean()
    assert spread > 3 * np.abs(clean - np.round(clean)).mean()
    tab.val_share.setValue(50)
    tab.val_share.editingFinished.emit()
    assert doc.project.dataset["val_split"] == 0.5
    qtbot.waitUntil(lambda: tab.data is not None and len(tab.data.val_x) == 200,
                    timeout=WAIT_MS)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.project.dataset["noise"] == 0.05 and doc.project.dataset["val_split"] == 0.25
    assert tab.noise.value() == 0.05 and tab.val_share.value() == 25


def _csv_project(tmp_path: Path) -> Project:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(150, 2))
    label = (x[:, 0] + x[:, 1] > 0).astype(int)
    rows = "\n".join(f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, label))
    (tmp_path / "mine.csv").write_text("a,b,label\n" + rows + "\n")
    g = Graph()
    i = g.add_node("io.Input", {"shape": [2]}, name="x")
    fc = g.add_node("core.Linear", {"out_features": 2}, name="fc")
    o = g.add_node("io.Output", {}, name="y")
    g.connect(i.id, "out", fc.id, "in")
    g.connect(fc.id, "out", o.id, "in")
    return Project(g, {"source": "csv", "path": "mine.csv", "target": "label",
                       "task": "classification"},
                   {"epochs": 1, "loss": "cross_entropy"}, {}, {"name": "mine"},
                   tmp_path / "mine.nnproj")


def test_own_two_column_csv_and_a_model_it_cannot_draw(qtbot, tmp_path):
    doc = Document(_csv_project(tmp_path), autosave_ms=0)
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    tab = panel.boundary
    try:
        _ready(qtbot, tab)
        assert tab.data.loss == "cross_entropy" and tab.plot.regions.values.shape[2] == 2
        assert not tab.noise.isEnabled()                   # a file has no noise option
        assert sum(len(i.getData()[0]) for i in tab.plot.train_items) == len(tab.data.train_x)
        # an Input of 3 numbers: no regions, and the reason is shown
        from studio.commands import SetParamCommand

        doc.push(SetParamCommand(doc.graph, "n1", "shape", [3]))
        qtbot.waitUntil(lambda: "Input of 2 numbers" in tab.status.text(), timeout=WAIT_MS)
        assert tab.plot.regions is None
        qtbot.waitUntil(lambda: not panel.views.isTabVisible(panel.views.indexOf(tab)),
                        timeout=WAIT_MS)   # no tab to scroll past
        doc.undo_stack.undo()   # the tabs follow on a later turn of the event loop
        qtbot.waitUntil(lambda: panel.views.isTabVisible(panel.views.indexOf(tab)),
                        timeout=WAIT_MS)
    finally:
        panel.shutdown()


def test_tabs_for_one_kind_of_model_follow_the_open_document(qtbot, make_panel):
    """Open digits_cnn, then vae_digits, then gan_digits, then xor_mlp in one panel: the Latent
    tab is there only for the VAE, GAN only for the GAN, Decision boundary only for XOR."""
    from engine.examples import example_path

    panel, doc, _ = make_panel("digits_cnn", epochs=1)
    views = panel.views

    def shown():
        return {name for name, w in (("latent", views.latent), ("gan", views.gan),
                                     ("boundary", panel.boundary))
                if views.isTabVisible(views.indexOf(w))}

    assert shown() == set()
    views.setCurrentWidget(views.curves)
    doc.open_example(example_path("vae_digits"))
    assert shown() == {"latent"}
    views.setCurrentWidget(views.latent)
    doc.open_example(example_path("gan_digits"))
    assert shown() == {"gan"}
    assert views.currentWidget() is not views.latent     # never left on a hidden tab
    doc.open_example(example_path("xor_mlp"))
    assert shown() == {"boundary"}
