"""Draw to test (pytest-qt, offscreen, the real trainer): after training digits_cnn, strokes
drawn with synthesised mouse events on the pad change the probabilities, which are the
trained model's softmax of the drawing; the flat 64-input MLP works too; a model that is not
an 8×8 / 28×28 image classifier gets a disabled button that says why."""
import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine.insight import build_model
from tests.studio.test_training_panel import WAIT_MS, _wait_done, make_panel  # noqa: F401

L = Qt.MouseButton.LeftButton


def _send(widget, kind, x, y, button, buttons):
    pos = QPointF(x, y)
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button,
                                               buttons, Qt.KeyboardModifier.NoModifier))


def stroke(pad, points):
    """Press, drag through `points` (fractions of the pad's square), release."""
    side = min(pad.width(), pad.height())
    x0, y0 = (pad.width() - side) / 2, (pad.height() - side) / 2
    xy = [(x0 + fx * side, y0 + fy * side) for fx, fy in points]
    _send(pad, QMouseEvent.Type.MouseButtonPress, *xy[0], L, L)
    for x, y in xy[1:]:
        _send(pad, QMouseEvent.Type.MouseMove, x, y, Qt.MouseButton.NoButton, L)
    _send(pad, QMouseEvent.Type.MouseButtonRelease, *xy[-1], L, Qt.MouseButton.NoButton)


def _expected(doc, x):
    model = build_model(doc.graph, doc.graph.weights)
    model.eval()
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(x[None])), dim=1)[0].numpy()


def test_a_stroke_changes_the_trained_models_prediction(qtbot, make_panel):  # noqa: F811
    panel, doc, _events = make_panel("digits_cnn", epochs=2)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    _wait_done(qtbot, panel)
    qtbot.waitUntil(lambda: bool(doc.graph.weights), timeout=WAIT_MS)
    launcher = panel.views.draw_test
    assert launcher.button.isEnabled() and "Draw a digit" in launcher.button.toolTip()
    qtbot.mouseClick(launcher.button, L)
    dialog = launcher.dialog
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.probs is not None, timeout=WAIT_MS)
    assert dialog.pad.side == 8 and dialog.answer.text().startswith("Draw something")
    blank = dialog.probs.copy()
    stroke(dialog.pad, [(0.5625, 0.15), (0.5625, 0.5), (0.5625, 0.85)])   # a "1" on column 4
    qtbot.waitUntil(lambda: not np.allclose(dialog.probs, blank), timeout=WAIT_MS)
    seen = dialog.pad.grid()
    assert seen[:, 4].sum() > 2 and seen[:, 0].sum() == 0           # a vertical bar
    x = dialog.model_input()
    assert x.shape == (1, 8, 8) and x.max() == pytest.approx(1.0, abs=0.02)   # minmax data
    np.testing.assert_allclose(dialog.probs, _expected(doc, x), rtol=1e-5, atol=1e-6)
    one = dialog.probs.copy()
    assert dialog.answer.text().startswith("Prediction: ")
    assert dialog.acts is not None and dialog.acts.shape == (16, 8, 8)   # conv1's maps
    assert dialog.map_image.image is not None
    stroke(dialog.pad, [(0.2, 0.2), (0.8, 0.2), (0.2, 0.8), (0.8, 0.8)])   # a "Z" on top
    qtbot.waitUntil(lambda: not np.allclose(dialog.probs, one), timeout=WAIT_MS)
    qtbot.mouseClick(dialog.clear_button, L)
    qtbot.waitUntil(lambda: np.allclose(dialog.probs, blank), timeout=WAIT_MS)
    assert dialog.pad.grid().max() == 0


def test_flat_mlp_input_and_a_model_it_cannot_feed(qtbot, make_panel):  # noqa: F811
    panel, _doc, _events = make_panel("digits_mlp")
    launcher = panel.views.draw_test
    dialog = launcher.open()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.probs is not None, timeout=WAIT_MS)
    assert "untrained" in dialog.answer.text()
    blank = dialog.probs.copy()
    stroke(dialog.pad, [(0.3, 0.3), (0.7, 0.7)])
    qtbot.waitUntil(lambda: not np.allclose(dialog.probs, blank), timeout=WAIT_MS)
    assert dialog.model_input().shape == (64,)
    panel2, _doc2, _ = make_panel("xor_mlp")
    button = panel2.views.draw_test.button
    assert not button.isEnabled() and "1×8×8 or 1×28×28" in button.toolTip()
    assert panel2.views.draw_test.open() is None


def test_the_pad_follows_the_document_to_another_model(qtbot, make_panel):  # noqa: F811
    panel, doc, _events = make_panel("digits_cnn")
    dialog = panel.views.draw_test.open()
    qtbot.waitUntil(lambda: dialog.probs is not None, timeout=WAIT_MS)
    from engine.examples import example_path

    doc.open(example_path("xor_mlp"))
    qtbot.waitUntil(lambda: dialog.probs is None, timeout=WAIT_MS)
    assert "1×8×8 or 1×28×28" in dialog.answer.text()
    assert not panel.views.draw_test.button.isEnabled()
