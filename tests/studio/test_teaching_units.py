"""What activates a unit, in the main window (pytest-qt, real trainer): open the autoencoder,
train it briefly, right-click its first layer > What Activates a Unit…: the weights into the
unit, the gradient-ascent input and the 9 training samples that activate it most are shown as
images, for the trained weights; another unit recomputes. Then open digits_cnn: a conv unit
shows its kernel; Input and Output nodes offer no such entry."""
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from engine.examples import example_path
from studio.ui.teaching.unit_view import UnitMenu

from .helpers import main_window
from .test_training_panel import WAIT_MS
from .test_transfer_gui import _action, _right_click


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    with main_window(qtbot, tmp_path, monkeypatch, ("training",)) as w:
        yield w
        for dialog in list(w.unit_menu.dialogs):
            dialog.wait()
            dialog.close()


def _pixmaps(box):
    return [label.pixmap() for label in box.findChildren(QLabel)
            if label.pixmap() is not None and not label.pixmap().isNull()]


def _open(qtbot, win, monkeypatch, name):
    act = _action(_right_click(win, name, monkeypatch), UnitMenu.LABEL)
    assert act is not None
    act.trigger()
    dialog = win.unit_menu.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.pictures is not None, timeout=WAIT_MS)
    return dialog


def test_units_of_a_trained_autoencoder_then_a_cnn(qtbot, win, tmp_path, monkeypatch):
    path = tmp_path / "ae.nnproj"
    path.write_bytes(example_path("autoencoder").read_bytes())
    win.open_file(path)
    panel = win.panels["training"]
    panel.overrides = {"epochs": 1}
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.worker is None and panel.last_worker is not None,
                    timeout=WAIT_MS)
    assert win.document.graph.weights                     # the trained weights are the model's
    dialog = _open(qtbot, win, monkeypatch, "enc1")
    p = dialog.pictures
    assert "the trained weights" in dialog.status.text()
    assert p.units == 32 and p.unit == 0
    w = win.document.graph.weights[win.document.graph.by_name("enc1").id]["weight"]
    np.testing.assert_allclose(p.weights, np.asarray(w)[0], rtol=1e-6)
    assert len(_pixmaps(dialog.weights_box)) == 1
    assert len(_pixmaps(dialog.ascent_box)) == 1
    assert len(_pixmaps(dialog.top_box)) == 9
    assert p.ascent.value > float(np.max(p.ascent.random_values))
    assert list(p.top_values) == sorted(p.top_values, reverse=True)
    dialog.unit.setValue(5)
    qtbot.waitUntil(lambda: dialog.pictures.unit == 5, timeout=WAIT_MS)
    assert len(_pixmaps(dialog.top_box)) == 9
    win.open_file(example_path("digits_cnn"))
    dialog = _open(qtbot, win, monkeypatch, "conv1")
    assert dialog.pictures.weights.shape == (1, 3, 3)      # the kernel
    assert "fresh initialisation" in dialog.status.text()
    assert len(_pixmaps(dialog.top_box)) == 9
    dialog = _open(qtbot, win, monkeypatch, "relu2")      # deeper: no weights picture
    assert dialog.pictures.weights is None
    assert len(_pixmaps(dialog.ascent_box)) == 1 and len(_pixmaps(dialog.top_box)) == 9
    for name in ("image", "digit"):
        menu = _right_click(win, name, monkeypatch)
        assert _action(menu, UnitMenu.LABEL) is None


def test_screenshot_options_render_a_teaching_view(qapp, tmp_path):
    from argparse import Namespace

    from PySide6.QtGui import QImage

    from studio.app import screenshot

    out = tmp_path / "units.png"
    args = Namespace(file=str(example_path("autoencoder")), output=str(out), size="1024x700",
                     tab=None, enter=None, train=0, view=None, units="code:2", probe=None)
    assert screenshot(args) == 0
    image = QImage(str(out))
    assert 0 < image.width() <= 1000 and 0 < image.height() <= 520     # the dialog
    args.units, args.view, args.output = None, "Gradients", str(tmp_path / "g.png")
    assert screenshot(args) == 0
    assert QImage(args.output).width() == 1024                           # the window
    args.view = "No such view"
    with pytest.raises(SystemExit, match="no Training view 'No such view'"):
        screenshot(args)
