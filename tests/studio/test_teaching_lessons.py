"""A lesson journey in the main window (pytest-qt, real trainer): open the perceptron preset, see
its note, train it and see it stuck at 75 % with regions that cannot separate XOR; open the
hidden-layer preset, train it to 100 % with regions that do; open a plain example: no note."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.examples import example_path, lesson_paths

from .helpers import main_window
from .test_training_panel import WAIT_MS

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR = [0, 1, 1, 0]


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    with main_window(qtbot, tmp_path, monkeypatch, ("training",)) as w:
        yield w


def _open_and_train(qtbot, win, tmp_path, name):
    path = tmp_path / f"{name}.nnproj"
    path.write_bytes(example_path(name).read_bytes())     # runs go beside the copy
    win.open_file(path)
    panel = win.panels["training"]
    tab = panel.boundary
    assert panel.views.currentWidget() is tab
    events = []
    panel.extra_callbacks.append(events.append)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(e.kind == "finished" for e in events), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)
    panel.extra_callbacks.remove(events.append)
    qtbot.waitUntil(lambda: "the trained weights" in tab.status.text(), timeout=WAIT_MS)
    tab.settle()
    return [e.metrics for e in events if e.kind == "epoch"], tab


def test_perceptron_then_hidden_layer_lesson(qtbot, win, tmp_path):
    note = win.lesson_note
    history, tab = _open_and_train(qtbot, win, tmp_path, "lesson_perceptron_xor")
    assert note.isVisible() and "cannot learn XOR" in note.text.text()
    assert max(row["binary_accuracy"] for row in history) <= 0.75
    predicted = list(tab.plot.regions.predict(CORNERS))
    assert predicted != XOR and sum(p == t for p, t in zip(predicted, XOR)) <= 3
    history, tab = _open_and_train(qtbot, win, tmp_path, "lesson_xor_hidden_layer")
    assert note.isVisible() and "hidden layer" in note.text.text()
    assert history[-1]["binary_accuracy"] == 1.0
    assert list(tab.plot.regions.predict(CORNERS)) == XOR
    qtbot.mouseClick(note.close_button, Qt.MouseButton.LeftButton)
    assert not note.isVisible()
    win.open_file(example_path("digits_mlp"))
    assert not note.isVisible()
    assert win.panels["training"].views.currentWidget() is not tab   # no 2-number input


def test_every_lesson_opens_with_its_note(qtbot, win):
    for name, path in lesson_paths().items():
        win.open_file(path)
        meta = win.document.project.meta
        assert win.lesson_note.isVisible(), name
        assert meta["description"] in win.lesson_note.text.text()
