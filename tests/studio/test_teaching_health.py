"""Health warnings in the main window (pytest-qt, real trainer): open the vanishing-gradients
lesson, train: an amber badge on its first layer says what vanishing gradients mean and what to
try, and the Problems panel lists it; open another example: it is gone. A new run starts with
none."""
import pytest
from PySide6.QtCore import Qt

from engine.examples import example_path

from .helpers import main_window
from .test_training_panel import WAIT_MS


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    with main_window(qtbot, tmp_path, monkeypatch, ("training", "problems")) as w:
        yield w


def _train(qtbot, win, epochs=2):
    panel = win.panels["training"]
    panel.overrides = {"epochs": epochs}
    events = []
    panel.extra_callbacks.append(events.append)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(e.kind == "finished" for e in events), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)
    panel.extra_callbacks.remove(events.append)


def _node(win, name):
    return next(n for n in win.document.graph.nodes.values() if n.name == name)


def test_vanishing_gradients_show_on_the_first_layer_and_go_with_another_project(
        qtbot, win, tmp_path):
    path = tmp_path / "lesson.nnproj"
    path.write_bytes(example_path("lesson_vanishing_sigmoid").read_bytes())
    win.open_file(path)
    problems = win.panels["problems"]
    fc1, out = _node(win, "fc1"), _node(win, "out")
    badge = win.scene.nodes[fc1.id].badge
    assert not badge.isVisible()
    _train(qtbot, win)
    qtbot.waitUntil(lambda: badge.isVisible(), timeout=WAIT_MS)
    assert badge.severity == "warning"
    tip = badge.toolTip()
    assert tip.startswith("Vanishing gradients: fc1's gradients are ~10⁻")
    assert "try ReLU" in tip
    assert not win.scene.nodes[out.id].badge.isVisible()     # the last layer learns
    rows = problems.row_texts()
    assert any(r.startswith("Vanishing gradients: fc1's") for r in rows)
    assert problems.issues[0].kind == "health" and problems.issues[0].severity == "warning"
    assert {w.node_id for w in win.health.warnings} <= {
        n.id for n in win.document.graph.nodes.values() if n.type == "core.Linear"}
    # a new run starts without the old warnings (they come back from its own reports)
    seen = []
    win.health.changed.connect(seen.append)
    _train(qtbot, win, epochs=1)
    assert seen and seen[0] == []
    qtbot.waitUntil(lambda: badge.isVisible(), timeout=WAIT_MS)
    # another project: its own world, no warning left on show
    win.open_file(example_path("xor_mlp"))
    assert win.health.warnings == []
    assert not any(item.badge.health for item in win.scene.nodes.values())
    assert not any(r.startswith("Vanishing") for r in problems.row_texts())
