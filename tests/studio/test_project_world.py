"""Each project is its own world (the real trainer, a real main window, offscreen): opening or
creating another project shows nothing of the previous one; a trained-but-unsaved model marks
the document modified; the runs of an unsaved project move beside it when it is saved."""
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from engine.examples import example_path
from engine.project import load_project, save_project
from studio.document import Document
from studio.ui.main_window import MainWindow

from .helpers import dispose

WAIT_MS = 120_000   # generous: under load the first torch import and data loading are slow
B = QMessageBox.StandardButton


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    asked: list[str] = []
    answers: list = []

    def question(_parent, title, text, *_a, **_k):
        asked.append(f"{title}: {text}")
        return answers.pop(0) if answers else B.Discard

    monkeypatch.setattr(QMessageBox, "question", question)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Document(autosave_ms=0), settings)
    w.asked, w.answers = asked, answers
    w.resize(1360, 850)
    w.show()
    qtbot.waitExposed(w)
    w.load_panels()
    yield w
    w.panels["training"].shutdown()
    dispose(w)


def _copy(name: str, folder: Path, **training) -> Path:
    project = load_project(example_path(name))
    project.training.update(training)
    return save_project(project, folder / f"{name}.nnproj")


def _train(qtbot, panel) -> None:
    assert panel.start(), panel.error.text.text()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)


def _data_points(panel) -> int:
    return sum(p.train.n + p.val.n + p.step.n for p in panel.curves.plots.values())


def test_opening_another_project_shows_nothing_of_the_previous_one(qtbot, win, tmp_path):
    a = _copy("digits_mlp", tmp_path, epochs=2)
    b = _copy("xor_mlp", tmp_path)
    panel = win.panels["training"]
    assert win.open_file(a)
    _train(qtbot, panel)
    qtbot.waitUntil(lambda: panel.insight is not None, timeout=WAIT_MS)
    # what A's run left on show
    panel.predictions.ensure_drawn()       # (filled when shown; the dock is behind a tab)
    assert panel.confusion.matrix is not None and panel.predictions.table.rowCount() > 0
    assert _data_points(panel) > 0 and panel.runs.tree.topLevelItemCount() == 1
    assert panel.feature_maps.offline and panel.gradients.buffers
    assert "accuracy" in panel.curves.plots
    panel.show_error("the loss became NaN", "n2")
    assert panel.error.isVisibleTo(panel) and panel.error.node_button.isVisibleTo(panel.error)

    assert win.open_file(b)
    assert win.document.path == b
    assert not panel.error.isVisibleTo(panel)
    assert panel.insight is None and panel.confusion.matrix is None
    assert not panel.confusion.texts and panel.predictions.table.rowCount() == 0
    assert _data_points(panel) == 0 and panel.runs.tree.topLevelItemCount() == 0
    assert set(panel.curves.plots) == {"loss", "lr"}     # no empty plots of A's metrics
    assert not panel.feature_maps.offline and not panel.feature_maps.live
    assert not panel.gradients.buffers and panel.pca.points is None
    assert panel.status.text() == "Ready." and panel.progress.format() == "idle"
    # the feature-map list is B's layers, not A's
    names = {panel.feature_maps.layer.itemText(i)
             for i in range(panel.feature_maps.layer.count())}
    assert names <= {n.name for n in win.document.graph.nodes.values()}

    # and A, reopened, shows its own run again
    assert win.open_file(a)
    assert panel.runs.tree.topLevelItemCount() == 1 and _data_points(panel) > 0


def test_new_and_example_reset_the_panel_too(qtbot, win, tmp_path):
    panel = win.panels["training"]
    assert win.open_file(_copy("xor_mlp", tmp_path, epochs=2))
    _train(qtbot, panel)
    assert _data_points(panel) > 0 and panel.runs.tree.topLevelItemCount() == 1
    win.document.discard_recovery()
    win.new_file()
    assert win.document.path is None
    assert _data_points(panel) == 0 and panel.runs.tree.topLevelItemCount() == 0
    panel.show_error("something went wrong")
    win.document.open_example(example_path("digits_mlp"))
    assert not panel.error.isVisibleTo(panel) and panel.status.text() == "Ready."


def test_trained_unsaved_model_marks_modified_and_its_runs_are_kept_on_save(qtbot, win,
                                                                            tmp_path):
    doc, panel = win.document, win.panels["training"]
    doc.open_example(example_path("xor_mlp"))  # an untitled copy
    doc.project.training["epochs"] = 2
    doc.undo_stack.setClean()
    assert not doc.modified and not doc.graph.weights
    _train(qtbot, panel)
    assert doc.graph.weights and doc.modified
    assert doc.undo_stack.undoText() == "Use the trained weights"
    temp_run = panel.runs.run_dirs()[-1]
    assert (temp_run / "metrics.jsonl").exists()
    # closing asks to save: Cancel keeps the window open
    win.answers.append(B.Cancel)
    assert not win.close() and win.isVisible()
    assert any("Save the changes" in a for a in win.asked)
    # undo takes the trained weights back, redo gives them again
    doc.undo_stack.undo()
    assert not doc.graph.weights
    doc.undo_stack.redo()
    assert doc.graph.weights

    saved = doc.save_as(tmp_path / "xor.nnproj")
    assert not doc.modified
    run = saved.parent / "xor.runs" / "run-1"
    assert (run / "metrics.jsonl").exists() and (run / "config.json").exists()
    assert list(run.glob("*.safetensors")) and not temp_run.exists()
    assert panel.runs.run_dirs() == [run]
    # a second run of the saved project goes beside it as run-2
    _train(qtbot, panel)
    assert [p.name for p in panel.runs.run_dirs()] == ["run-1", "run-2"]


def test_opening_a_project_during_a_run_stops_it_first(qtbot, win, tmp_path):
    a = _copy("digits_mlp", tmp_path, epochs=500)
    b = _copy("xor_mlp", tmp_path)
    doc, panel = win.document, win.panels["training"]
    assert win.open_file(a)
    events = []
    panel.extra_callbacks.append(events.append)
    assert panel.start()
    qtbot.waitUntil(lambda: any(e.kind == "batch" for e in events), timeout=WAIT_MS)
    # Cancel: the run goes on and A stays open
    win.answers.append(B.Cancel)
    assert not win.open_file(b) and panel.is_running() and doc.path == a
    # Yes (stop), then Discard (A's trained weights)
    win.answers.extend([B.Yes, B.Discard])
    assert win.open_file(b)
    assert "Training is running" in win.asked[-2] and "Save the changes" in win.asked[-1]
    assert doc.path == b and not panel.is_running() and not doc.locked
    assert not doc.graph.weights and not doc.modified
    assert _data_points(panel) == 0


def test_a_run_of_the_previous_project_never_lands_in_the_next(qtbot, win, tmp_path):
    """Replacing the document directly (no window prompt) stops the run; its weights are
    not given to the new model and nothing of it is shown."""
    a = _copy("digits_mlp", tmp_path, epochs=500)
    b = _copy("xor_mlp", tmp_path)
    doc, panel = win.document, win.panels["training"]
    doc.open(a)
    events = []
    panel.extra_callbacks.append(events.append)
    assert panel.start()
    qtbot.waitUntil(lambda: any(e.kind == "batch" for e in events), timeout=WAIT_MS)
    doc.open(b)
    assert not panel.is_running() and not doc.locked
    qtbot.wait(200)       # anything still queued from the old run arrives now
    assert not doc.graph.weights and not doc.modified
    assert _data_points(panel) == 0 and panel.insight is None
    assert panel.status.text() == "Ready."
