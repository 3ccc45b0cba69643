"""Journey: a new project (iris) with a 10-unit head. The problem is shown on the node, in the
Problems tab and the inspector; one click on its fix applies it (undoable); the model trains to
>= 90 % validation accuracy with the new project's settings."""
import pytest
from PySide6.QtCore import QPointF, Qt

from studio.commands import ConnectCommand

from .helpers import main_window


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    with main_window(qtbot, tmp_path, monkeypatch) as w:
        yield w


def build_mlp(win):
    """Input -> Linear -> ReLU -> Linear -> Output, added as the palette adds layers (each
    layer at its defaults) and wired with undoable Connect edits."""
    ids = []
    for i, layer in enumerate(["io.Input", "core.Linear", "act.ReLU", "core.Linear",
                               "io.Output"]):
        ids.append(win.view.add_layer(layer, QPointF(200 * i, 0)))
    doc = win.document
    for a, b in zip(ids, ids[1:]):
        doc.push(ConnectCommand(doc.graph, a, "out", b, "in"))
    return ids


def test_iris_with_a_ten_unit_head_is_fixed_by_one_click_and_trains(win, qtbot):
    win.act["new"].trigger()
    doc = win.document
    assert doc.project.dataset["name"] == "iris" and not doc.graph.nodes
    qtbot.waitUntil(lambda: doc.fit.profile is not None, timeout=90_000)
    ids = build_mlp(win)
    assert doc.graph.nodes[ids[0]].params["shape"] == [4]   # a new Input fits the data
    doc.graph.set_param(ids[0], "shape", [1, 8, 8])   # as if added before the data: 64 values
    head = doc.graph.nodes[ids[3]]
    # the Input's shape breaks fc1 (no Flatten): only the Input's fix is known yet
    [issue] = [i for i in doc.report().errors if i.kind == "data"]
    assert issue.node_id == ids[0] and issue.fix.label == "set shape to (4,)"
    doc.apply_fix(issue.fix)
    issues = [i for i in doc.report().errors if i.kind == "data"]
    assert [i.node_id for i in issues] == [head.id]
    # the head's problem: on its badge, in the Problems tab, in the inspector
    badge = win.scene.nodes[head.id].badge
    assert badge.isVisible() and "has 3 classes" in badge.toolTip()
    problems = win.panels["problems"]
    assert any("gives 10 values" in t and "has 3 classes" in t for t in problems.row_texts())
    assert [b.text() for b in problems.fix_buttons] == ["set out_features to 3"]
    win.scene.select_ids([head.id])
    inspector = win.panels["inspector"]
    [fix] = inspector.fix_buttons
    assert fix.text() == "Fix: set out_features to 3"
    qtbot.waitUntil(fix.isVisible)
    # training is refused while the model does not fit
    panel = win.panels["training"]
    assert not panel.start()
    assert "problem" in panel.error.text.text()
    # one click each: the fixes are ordinary undoable edits
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert head.params["out_features"] == 3
    assert not badge.isVisible() and not problems.fix_buttons and doc.report().ok
    assert doc.undo_stack.undoText() == "Fix: set out_features to 3"
    doc.undo_stack.undo()
    assert not doc.report().ok and problems.fix_buttons
    doc.undo_stack.redo()
    # and it trains on iris with the new project's settings
    finished = []
    panel.run_finished.connect(finished.append)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(finished) and panel.worker is None, timeout=120_000)
    assert finished[0].best["val_accuracy"] >= 0.9


def test_changing_the_dataset_rechecks_the_model(win, qtbot):
    doc = win.document
    build_mlp(win)
    qtbot.waitUntil(lambda: not doc.data_pending, timeout=90_000)
    for issue in [i for i in doc.report().errors if i.fix]:
        doc.apply_fix(issue.fix)
    assert doc.report().ok
    picker = win.panels["training"].dataset
    picker.name.setCurrentIndex(picker.name.findData("wine"))
    picker.name.activated.emit(picker.name.currentIndex())
    qtbot.waitUntil(lambda: not doc.data_pending and doc.fit.profile is not None,
                    timeout=90_000)
    messages = [i.message for i in doc.report().errors]
    assert any("(4,) = 4 values" in m and "(13,) = 13 values" in m for m in messages)
    # the Input's shape follows the data with one click, without a preview
    assert picker.shape_button.isEnabled()
    qtbot.mouseClick(picker.shape_button, Qt.MouseButton.LeftButton)
    assert doc.report().ok
    doc.undo_stack.undo()       # the dataset choice and the shape are separate undo steps
    assert not doc.report().ok and doc.project.dataset["name"] == "wine"
