"""The Sweep tab and marking settings as searched, driven through real widgets: the
inspector's and the training form's right-click marks, the search dialog, the trials table
(sortable, best highlighted), the comparison views, "Apply best" as one undo step, and a live
sweep run in a child process."""
from __future__ import annotations

import shutil

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt

from engine.examples import example_path
from engine.project import load_project
from engine.sweep.runner import SweepOptions, run_trials
from engine.sweep.space import SweepError
from studio.document import Document
from studio.ui.main_window import MainWindow
from studio.ui.sweep.edits import set_search, set_sweep_option
from studio.ui.sweep.marks import MARK
from studio.ui.sweep.search_dialog import SearchDialog, parse_choices
from studio.ui.sweep.trials_model import NUMBER_ROLE, SORT_ROLE

LR, WIDTH = "training.optimizer.lr", "node.n2.out_features"


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    path = tmp_path / "xor.nnproj"
    shutil.copyfile(example_path("xor_mlp"), path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Document(autosave_ms=0), settings)
    w.resize(1360, 850)
    w.open_file(path)
    yield w
    w.panels["sweep"].shutdown()
    w.panels["training"].shutdown()
    w.document.close()
    shiboken6.delete(w)


def _label(form_host, text: str):
    from PySide6.QtWidgets import QLabel

    return next(lab for lab in form_host.findChildren(QLabel)
                if lab.text().removesuffix(MARK) == text)


def test_inspector_and_training_labels_mark_searched_settings(win):
    doc = win.document
    doc.set_selection(["n2"])
    inspector = win.panels["inspector"]
    label = _label(inspector, "out_features")
    assert label.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
    set_search(doc, WIDTH, {"low": 4, "high": 32, "log": True})
    assert label.text() == "out_features" + MARK and "[4, 32, log]" in label.toolTip()
    lr_label = _label(win.panels["training"].settings, "Learning rate")
    assert lr_label.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
    set_search(doc, LR, {"low": 0.001, "high": 0.1, "log": True})
    assert lr_label.text().endswith(MARK)
    sweep = win.panels["sweep"]
    assert [sweep.space_list.item(i).text() for i in range(sweep.space_list.count())] == \
        ["hidden.out_features  [4, 32, log]", "lr  [0.001, 0.1, log]"]
    doc.undo_stack.undo()
    assert not lr_label.text().endswith(MARK) and sweep.space_list.count() == 1
    doc.undo_stack.undo()
    assert label.text() == "out_features" and not doc.project.sweep.get("space")
    doc.set_selection(["n4"])            # another node: its own labels, none marked
    assert not _label(inspector, "out_features").text().endswith(MARK)


def test_search_dialog_checks_values_with_the_engine(win):
    dialog = SearchDialog(win.document, LR)
    assert dialog.range_button.isChecked() and dialog.log.isChecked()
    assert float(dialog.low.text()) == pytest.approx(0.003)       # around the current 0.03
    dialog.low.setText("0.5")
    dialog.high.setText("0.1")
    dialog.accept_entry()
    assert "must be below high" in dialog.error.text() and dialog.entry() is None
    dialog.low.setText("0.0001")
    dialog.accept_entry()
    assert dialog.entry() == {"low": 0.0001, "high": 0.1, "log": True}
    name = SearchDialog(win.document, "training.optimizer.name")
    assert not name.range_button.isEnabled() and "adam" in name.choices.text()
    name.choices.setText("adam, sgd")
    name.accept_entry()
    assert name.entry() == {"choices": ["adam", "sgd"]}
    assert parse_choices("16, 32") == [16, 32]
    assert parse_choices("[3, 3], [5, 5]") == [[3, 3], [5, 5]]


def _swept(win, trials=4):
    """A real 4-trial random sweep of the saved project, run in this process."""
    doc = win.document
    set_search(doc, LR, {"low": 0.003, "high": 0.3, "log": True})
    set_search(doc, WIDTH, {"low": 2, "high": 16})
    for name, value in (("sampler", "random"), ("pruner", "none"), ("epochs", 2),
                        ("trials", trials)):
        set_sweep_option(doc, name, value)
    win.save(wait=True)
    run_trials(load_project(doc.path), SweepOptions(trials=trials, device="cpu"))


def _wait_table(qtbot, panel, n):
    panel.refresh()
    qtbot.waitUntil(lambda: panel.model.rowCount() == n and panel._call is None,
                    timeout=60_000)


def test_trials_table_views_and_apply_best_is_one_undo_step(win, qtbot):
    _swept(win)
    panel = win.panels["sweep"]
    _wait_table(qtbot, panel, 4)
    view = panel.view
    best = view.best
    model, proxy = panel.model, panel.proxy
    assert model.columns()[:5] == ["#", "state", "hidden.out_features", "lr", "val_loss"]
    best_row = next(r for r in range(4) if model.rows[r].number == best.number)
    assert model.index(best_row, 0).data().startswith("★")
    assert model.index(best_row, 0).data(Qt.ItemDataRole.FontRole).bold()
    panel.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)       # by val_loss
    shown = [proxy.index(r, 4).data(SORT_ROLE) for r in range(4)]
    assert shown == sorted(shown) and proxy.index(0, 0).data(NUMBER_ROLE) == best.number
    assert panel.progress.format() == "4 of 4 trials" and "best val_loss" in \
        panel.status.text()
    assert len(panel.parallel.items) == 4
    assert panel.parallel.best == best.number
    assert len(panel.pareto.scatter.scatter.points()) == 4
    # a click in the parallel-coordinates view picks the trial whose line passes there
    ys = panel.parallel.lines[best.number]
    assert panel.parallel.nearest(0.0, ys[0]) is not None
    panel.select_trial(best.number)
    assert panel.selected_trials() == [best.number]
    panel.curves.ensure_drawn()     # drawn when shown (this test's window is not shown)
    overlays = panel.curves.plots["loss"].overlays
    assert len(overlays) == 2 and overlays[0].xData.tolist() == [1.0, 2.0]
    # apply best: one undoable edit of a training setting and a layer parameter
    doc = win.document
    before = (doc.project.training["optimizer"]["lr"],
              doc.graph.nodes["n2"].params["out_features"])
    steps = doc.undo_stack.count()
    assert panel.apply_best()
    assert doc.undo_stack.count() == steps + 1
    assert doc.project.training["optimizer"]["lr"] == pytest.approx(best.values[LR])
    assert doc.graph.nodes["n2"].params["out_features"] == best.values[WIDTH]
    assert "Apply best trial" in doc.undo_stack.undoText()
    doc.undo_stack.undo()
    assert (doc.project.training["optimizer"]["lr"],
            doc.graph.nodes["n2"].params["out_features"]) == before
    doc.undo_stack.redo()
    assert doc.graph.nodes["n2"].params["out_features"] == best.values[WIDTH]


def test_apply_refuses_values_the_model_cannot_take(win, qtbot):
    _swept(win, trials=2)
    panel = win.panels["sweep"]
    _wait_table(qtbot, panel, 2)
    trial = panel.view.trials[0]
    trial.values[WIDTH] = 0
    steps = win.document.undo_stack.count()
    assert not panel._apply(trial, "Apply")
    assert "out_features must be between 1 and" in panel.message.text()
    assert win.document.undo_stack.count() == steps
    with pytest.raises(SweepError):
        from studio.ui.sweep.edits import apply_values_edit

        apply_values_edit(win.document, {WIDTH: 0}, "x")


def test_run_needs_something_searched(win):
    panel = win.panels["sweep"]
    assert not panel.start()
    assert "Nothing is searched yet" in panel.message.text()


@pytest.mark.slow
def test_live_sweep_from_the_app(win, qtbot):
    doc = win.document
    set_search(doc, LR, {"low": 0.01, "high": 0.1, "log": True})
    doc.project.sweep.update({"sampler": "random", "epochs": 1})
    win.save(wait=True)
    panel = win.panels["sweep"]
    panel.trials.setValue(3)
    assert doc.project.sweep["trials"] == 3
    win.save(wait=True)
    assert panel.start()
    assert panel.stop_button.isEnabled() and not panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.process.running(), timeout=600_000)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3 and panel._call is None,
                    timeout=60_000)
    assert panel.progress.format() == "3 of 3 trials"
    assert {t.state for t in panel.view.trials} <= {"complete", "pruned"}
    assert "trial 0" in panel.log.toPlainText()
    assert panel.run_button.isEnabled()
