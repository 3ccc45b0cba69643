"""The Training panel drives the real Trainer on a background thread (pytest-qt, offscreen)."""
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.project import load_project
from studio.document import Document
from studio.ui.training.panel import TrainingPanel

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
# One generous wait for everything the background thread does: under load the first torch
# import and data loading alone can take most of a shorter limit. Passing runs never wait it out.
WAIT_MS = 120_000


@pytest.fixture
def make_panel(qtbot, tmp_path):
    def make(example: str, **training):
        project = load_project(EXAMPLES / f"{example}.nnproj")
        project.path = tmp_path / f"{example}.nnproj"     # runs go to tmp_path
        project.training.update(training)
        doc = Document(project, autosave_ms=0)
        panel = TrainingPanel(doc)
        qtbot.addWidget(panel)
        panel.resize(1300, 700)
        panel.show()
        events = []
        panel.extra_callbacks.append(events.append)
        made.append(panel)
        return panel, doc, events

    made = []
    yield make
    for panel in made:
        panel.shutdown()


def _wait_done(qtbot, panel, timeout=WAIT_MS):
    qtbot.waitUntil(lambda: panel.worker is None, timeout=timeout)


def test_train_from_panel_plots_the_reported_points(qtbot, make_panel):
    panel, doc, events = make_panel("digits_mlp", epochs=3)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert doc.locked and panel.banner.isVisible()
    qtbot.waitUntil(lambda: any(e.kind == "epoch" for e in events), timeout=WAIT_MS)
    _wait_done(qtbot, panel)
    assert not doc.locked and not panel.banner.isVisible()
    epochs = [e.metrics for e in events if e.kind == "epoch"]
    batches = [e for e in events if e.kind == "batch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    panel.curves.redraw(force=True)
    loss = panel.curves.plots["loss"]
    x, y = loss.val_curve.getData()
    assert list(x) == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(y, [e["val_loss"] for e in epochs])
    x, y = loss.train_curve.getData()
    np.testing.assert_allclose(y, [e["loss"] for e in epochs])
    x, y = loss.step_curve.getData()
    np.testing.assert_allclose(y, [b.loss for b in batches])
    acc = panel.curves.plots["accuracy"].val_curve.getData()[1]
    np.testing.assert_allclose(acc, [e["val_accuracy"] for e in epochs])
    assert "finished after 3 epoch" in panel.status.text()
    # the run is listed in the Runs panel, and ticking it overlays its curves
    assert panel.runs.tree.topLevelItemCount() == 1
    panel.runs.tree.topLevelItem(0).setCheckState(0, Qt.CheckState.Checked)
    overlay = panel.curves.plots["loss"].overlays
    assert overlay and list(overlay[0].getData()[0]) == [1.0, 2.0, 3.0]
    # the trained weights are the document's now (Save/Export use them)
    assert set(doc.graph.weights) >= {"n2", "n4", "n6"}


def test_stop_within_one_batch(qtbot, make_panel):
    panel, doc, events = make_panel("digits_mlp", epochs=500, batch_size=16)
    panel.overrides = {"event_interval": 0.0}
    panel.start()
    qtbot.waitUntil(lambda: sum(e.kind == "batch" for e in events) >= 3, timeout=WAIT_MS)
    trainer = panel.worker.trainer
    # graph edits are refused while the run is active, with the reason
    from studio.commands import SetParamCommand
    errors = []
    doc.error.connect(errors.append)
    assert doc.locked and panel.banner.isVisible()
    assert not doc.try_push(SetParamCommand(doc.graph, "n2", "out_features", 8))
    assert doc.graph.nodes["n2"].params["out_features"] == 64
    assert errors and "stop it to edit" in errors[0]
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    at_stop = trainer.global_step
    _wait_done(qtbot, panel)
    assert trainer.global_step <= at_stop + 1
    assert any(e.kind == "finished" and e.reason == "stopped" for e in events)
    assert "stopped" in panel.status.text()
    assert panel.train_button.isEnabled() and not doc.locked
    assert doc.try_push(SetParamCommand(doc.graph, "n2", "out_features", 8))


def test_pause_and_resume(qtbot, make_panel):
    panel, _doc, events = make_panel("digits_mlp", epochs=500, batch_size=16)
    panel.overrides = {"event_interval": 0.0}
    panel.start()
    qtbot.waitUntil(lambda: any(e.kind == "batch" for e in events), timeout=WAIT_MS)
    # the batch event comes from the trainer thread: Pause is enabled once the GUI thread
    # has seen the run start (a click before that would do nothing)
    qtbot.waitUntil(panel.pause_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.resume_button.isEnabled(), timeout=WAIT_MS)
    step = panel.worker.trainer.global_step
    qtbot.wait(200)
    assert panel.worker.trainer.global_step <= step + 1
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.worker.trainer.global_step > step + 2, timeout=WAIT_MS)
    panel.stop()
    _wait_done(qtbot, panel)


def test_nan_loss_shows_the_message(qtbot, make_panel):
    panel, doc, events = make_panel("digits_mlp", epochs=5,
                                    optimizer={"name": "sgd", "lr": 1e6})
    panel.start()
    _wait_done(qtbot, panel)
    failed = [e for e in events if e.kind == "failed"]
    assert failed and failed[0].cause == "nan"
    assert panel.error.isVisible()
    assert failed[0].message in panel.error.text.text()
    assert "nan" in panel.error.text.text().lower()
    assert panel.train_button.isEnabled() and not doc.locked


def test_invalid_graph_is_refused_with_the_node_highlighted(qtbot, make_panel):
    from studio.commands import SetParamCommand
    panel, doc, _ = make_panel("digits_cnn")
    doc.push(SetParamCommand(doc.graph, "n2", "kernel_size", 11))   # 8x8 input (+1 padding)
    highlighted = []
    panel.node_highlight.connect(highlighted.append)
    assert panel.start() is False
    assert panel.worker is None and panel.error.isVisible()
    assert highlighted and highlighted[0] in doc.graph.nodes


def test_feature_maps_show_one_tile_per_channel_and_confusion_sums(qtbot, make_panel):
    panel, doc, events = make_panel("digits_cnn", epochs=2)
    panel.overrides = {"activation_interval": 0.05}
    doc.set_selection(["n2"])                      # conv1, 16 channels
    assert panel.feature_maps.node_id == "n2"
    panel.tabs.setCurrentWidget(panel.feature_maps)
    panel.start()
    qtbot.waitUntil(lambda: any(e.kind == "activations" for e in events), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.feature_maps.tile_count > 0, timeout=WAIT_MS)
    assert panel.feature_maps.tile_count == 16
    assert panel.feature_maps.grid == (4, 4)
    assert panel.feature_maps.image.image.shape[:2] == (4 * 9 - 1, 4 * 9 - 1)
    _wait_done(qtbot, panel)
    qtbot.waitUntil(lambda: panel.insight is not None, timeout=WAIT_MS)
    val_size = next(e.val_size for e in events if e.kind == "started")
    assert panel.confusion.matrix.sum() == val_size
    panel.tabs.setCurrentWidget(panel.predictions)    # filled when shown
    qtbot.waitUntil(lambda: panel.predictions.filled == min(val_size, 300), timeout=WAIT_MS)
    assert panel.predictions.table.rowCount() == min(val_size, 300)
    # PCA of conv1's activations on the validation set, computed when its tab is shown
    panel.tabs.setCurrentWidget(panel.pca)
    qtbot.waitUntil(lambda: panel.pca.points is not None, timeout=WAIT_MS)
    assert panel.pca.points.shape == (val_size, 2)
    panel.tabs.setCurrentWidget(panel.feature_maps)
    # filters view: conv1 has 16 3x3 kernels
    panel.feature_maps.mode.setCurrentIndex(1)
    panel.feature_maps.redraw()
    assert panel.feature_maps.tile_count == 16


def test_settings_are_validated_saved_and_undoable(qtbot, make_panel):
    panel, doc, _ = make_panel("digits_mlp")
    lr = panel.settings.lr
    lr.setText("-1")
    lr.editingFinished.emit()
    assert "lr must be > 0" in panel.settings.message.text()
    assert doc.project.training["optimizer"]["lr"] == 0.001
    lr.setText("3e-3")
    lr.editingFinished.emit()
    assert doc.project.training["optimizer"]["lr"] == 0.003
    panel.settings.epochs.setValue(7)
    assert doc.project.training["epochs"] == 7
    doc.undo_stack.undo()
    assert doc.project.training["epochs"] == 30
    assert panel.settings.epochs.value() == 30
    doc.undo_stack.undo()
    assert doc.project.training["optimizer"]["lr"] == 0.001 and lr.text() == "0.001"
    # early stopping on/off is one undoable setting
    panel.settings.early.setChecked(True)
    assert doc.project.training["early_stopping"]["monitor"] == "val_loss"
    doc.undo_stack.undo()
    assert "early_stopping" not in doc.project.training


def test_dataset_preview_and_input_shape_from_data(qtbot, make_panel):
    panel, doc, _ = make_panel("digits_mlp")
    doc.graph.set_param("n1", "shape", [32])      # a wrong shape, not on the undo stack
    picker = panel.dataset
    with qtbot.waitSignal(picker.preview_ready, timeout=WAIT_MS):
        qtbot.mouseClick(picker.preview_button, Qt.MouseButton.LeftButton)
    assert "(64,)" in picker.info.text() and "train 1258" in picker.info.text()
    assert picker.samples.count() == 16              # 8 thumbnails + 8 captions
    qtbot.mouseClick(picker.shape_button, Qt.MouseButton.LeftButton)
    assert doc.graph.nodes["n1"].params["shape"] == [64]
    doc.undo_stack.undo()
    assert doc.graph.nodes["n1"].params["shape"] == [32]
    # a split leaving no training data is refused with the reason
    picker.bindings[0].widget.setValue(0.9)
    assert "Refused" in picker.info.text()
    assert doc.project.dataset["val_split"] == 0.2


def test_reopened_project_shows_its_last_run_and_insight(qtbot, make_panel, tmp_path):
    from engine.project import save_project
    panel, doc, events = make_panel("digits_mlp", epochs=2)
    panel.start()
    _wait_done(qtbot, panel)
    qtbot.waitUntil(lambda: panel.insight is not None, timeout=WAIT_MS)
    save_project(doc.project)                       # with the trained weights beside it
    again, doc2, _ = make_panel("digits_mlp")
    doc2.open(doc.project.path)
    rows = [e.metrics for e in events if e.kind == "epoch"]
    _x, y = again.curves.plots["loss"].val_curve.getData()
    np.testing.assert_allclose(y, [r["val_loss"] for r in rows])
    assert "run-1" in again.status.text()
    again.tabs.setCurrentWidget(again.confusion)    # computed on demand from saved weights
    qtbot.waitUntil(lambda: again.insight is not None, timeout=WAIT_MS)
    np.testing.assert_array_equal(again.confusion.matrix, panel.confusion.matrix)


def test_ctrl_enter_in_the_main_window_trains_and_errors_point_at_the_node(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QKeySequence

    from studio.commands import SetParamCommand
    from studio.ui.main_window import MainWindow
    project = load_project(EXAMPLES / "digits_cnn.nnproj")
    project.path = tmp_path / "digits_cnn.nnproj"
    project.training.update(epochs=1)
    doc = Document(project, autosave_ms=0)
    window = MainWindow(doc, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.load_panels(("training",))
    panel = window.panels["training"]
    assert isinstance(panel, TrainingPanel)
    assert QKeySequence("Ctrl+Return") in window.act["train"].shortcuts()
    try:
        window.act["train"].trigger()
        assert panel.worker is not None and doc.locked
        _wait_done(qtbot, panel)
        assert "finished after 1 epoch" in panel.status.text()
        doc.push(SetParamCommand(doc.graph, "n5", "kernel_size", 11))    # breaks conv2
        window.act["train"].trigger()
        assert panel.worker is None and not panel.error.isHidden()
        assert doc.selected_ids and doc.selected_ids[0] in doc.graph.nodes
    finally:
        panel.shutdown()
        doc.undo_stack.setClean()        # closing must not ask to save


def test_an_insight_arriving_after_the_panel_is_freed_is_dropped(qtbot):
    """Closing waits for an insight computation; its result, queued for the GUI thread,
    must not be shown on the freed widgets (it raised 'already deleted' at teardown)."""
    import shiboken6
    from PySide6.QtWidgets import QApplication

    panel = TrainingPanel(Document(load_project(EXAMPLES / "xor_mlp.nnproj"), autosave_ms=0))
    panel.views._start_insight(lambda: object())   # any result: the views must not take it
    panel.shutdown()                               # waits: the result is now queued
    shiboken6.delete(panel)
    QApplication.processEvents()                   # pytest-qt fails on a raising slot
