"""The main window: docks and their saved layout, menu shortcuts, quick add, history, train
signal, selection sharing, themes, the headless screenshot and torch-free start-up."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QUndoView

from engine.examples import example_path
from studio.document import Document
from studio.ui.main_window import MainWindow

from .helpers import dispose

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    path = tmp_path / "cnn.nnproj"
    shutil.copyfile(example_path("digits_cnn"), path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    w.load_panels(("palette", "problems"))
    w.open_file(path)
    w.show()
    qtbot.waitExposed(w)
    yield w
    dispose(w)


def test_docks_and_panels(win):
    assert set(win.docks) >= {"palette", "inspector", "summary", "problems", "training", "log"}
    area = win.dockWidgetArea
    assert area(win.docks["palette"]) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert area(win.docks["inspector"]) == Qt.DockWidgetArea.RightDockWidgetArea
    for key in ("summary", "problems", "training", "log"):
        assert area(win.docks[key]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert win.docks["problems"] in win.tabifiedDockWidgets(win.docks["summary"])
    assert win.view in win.centralWidget().findChildren(type(win.view))


def test_menu_shortcuts(win):
    expected = {"new": "Ctrl+N", "open": "Ctrl+O", "save": "Ctrl+S", "save_as": "Ctrl+Shift+S",
                "undo": "Ctrl+Z", "redo": "Ctrl+Y", "copy": "Ctrl+C", "paste": "Ctrl+V",
                "duplicate": "Ctrl+D", "delete": "Del", "frame_sel": "F", "frame_all": "A",
                "quick_add": "Tab", "train": "Ctrl+Return"}
    for key, seq in expected.items():
        shortcuts = [s.toString() for s in win.act[key].shortcuts()]
        assert seq in shortcuts, (key, shortcuts)
    menu_texts = [a.text() for a in win.menuBar().actions()]
    assert menu_texts[:3] == ["&File", "&Edit", "&View"]


def test_layout_state_is_saved_and_restored(win, qtbot, tmp_path):
    win.docks["inspector"].hide()
    win.save_layout()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    again = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    again.load_panels(())
    again.show()
    assert again.docks["inspector"].isHidden()
    assert not again.docks["palette"].isHidden()
    dispose(again)


def test_selection_is_shared(win):
    seen = []
    win.selection_changed.connect(seen.append)
    win.scene.select_ids(["n2"])
    assert seen[-1] == ["n2"] and win.document.selected_ids == ["n2"]
    win.document.set_selection(["n5", "n6"])
    assert win.scene.selected_ids() == ["n5", "n6"]
    win.focus_node("n9")
    assert win.document.selected_ids == ["n9"]


def test_tab_opens_quick_add_and_adds_the_chosen_layer(win, qtbot):
    win.activateWindow()
    win.view.setFocus()
    qtbot.waitUntil(win.view.hasFocus)
    QTest.keyClick(win.view, Qt.Key.Key_Tab)
    popup = win._quick_add
    qtbot.waitUntil(popup.isVisible)
    n = len(win.document.graph.nodes)
    popup.chosen.emit("act.GELU")
    assert len(win.document.graph.nodes) == n + 1
    new = win.scene.selected_ids()[0]
    assert win.document.graph.nodes[new].type == "act.GELU"


def test_double_click_on_empty_canvas_requests_quick_add(win):
    got = []
    win.view.quick_add_requested.disconnect()
    win.view.quick_add_requested.connect(lambda g, s: got.append(s))
    empty = win.view.mapFromScene(QPointF(-1500, -1500))
    win.view.centerOn(-1500, -1500)
    empty = win.view.mapFromScene(QPointF(-1500, -1500))
    QTest.mouseDClick(win.view.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, empty)
    assert got and abs(got[0].x() + 1500) < 2


def test_train_shortcut_emits_signal_and_history_view(win, qtbot):
    with qtbot.waitSignal(win.train_requested, timeout=1000):
        win.act["train"].trigger()
    win.act["history"].trigger()
    view = win.docks["history"].widget()
    assert isinstance(view, QUndoView) and view.stack() is win.document.undo_stack


def test_zoom_frame_and_theme(win):
    win.view.set_zoom(1.0)
    win.act["zoom_in"].trigger()
    assert win.view.zoom() == pytest.approx(1.2)
    win.act["frame_all"].trigger()
    visible = win.view.mapToScene(win.view.viewport().rect()).boundingRect()
    assert visible.contains(win.scene.nodes_rect())
    win.set_theme("dark")
    assert QApplication.instance().palette().window().color().lightness() < 80
    win.set_theme("light")
    assert QApplication.instance().palette().window().color().lightness() > 180


def test_screenshot_writes_png(qapp, tmp_path):
    from studio.app import screenshot

    out = tmp_path / "shot.png"
    args = Namespace(file=str(example_path("digits_mlp")), output=str(out), size="900x600",
                     tab="problems")
    assert screenshot(args) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (900, 600)
    bad = tmp_path / "bad.nnproj"
    bad.write_text("{")
    assert screenshot(Namespace(file=str(bad), output=str(tmp_path / "x.png"),
                                size="900x600", tab=None)) == 2


def test_window_shows_before_torch_is_imported(tmp_path):
    code = (
        "import sys\n"
        "from PySide6.QtCore import QSettings\n"
        "from studio.app import make_app\n"
        "from studio.document import Document\n"
        "from studio.ui.main_window import MainWindow\n"
        "from engine.examples import example_path\n"
        "app = make_app()\n"
        f"w = MainWindow(Document(autosave_ms=0), QSettings({str(tmp_path / 's.ini')!r}, "
        "QSettings.Format.IniFormat))\n"
        "w.document.open(example_path('digits_cnn'))\n"
        "w.show(); app.processEvents()\n"
        "print('torch' in sys.modules)\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         cwd=ROOT, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "False"


def test_new_from_example_and_open_recent(win, monkeypatch, tmp_path):
    from studio.ui.dialogs import gallery

    chosen = example_path("xor_mlp")
    monkeypatch.setattr(gallery.ExampleGallery, "exec", lambda self: 1)
    monkeypatch.setattr(gallery.ExampleGallery, "chosen_path", lambda self: chosen)
    win.act["example"].trigger()
    doc = win.document
    assert doc.path is None and {n.name for n in doc.graph.nodes.values()} >= {"x", "y"}
    assert win.windowTitle() == "xor_mlp — Studio" and not doc.modified
    assert len(win.scene.nodes) == len(doc.graph.nodes)
    # the file opened by the fixture is in Open Recent and reopens from there
    win.recent_menu.aboutToShow.emit()
    actions = [a for a in win.recent_menu.actions() if a.isEnabled()]
    assert [a.text() for a in actions] == ["cnn.nnproj"]
    actions[0].trigger()
    assert doc.path == tmp_path / "cnn.nnproj" and len(doc.graph.nodes) == 12


def test_training_start_gives_the_bottom_dock_room(win, qtbot):
    """When a run starts (running_changed(True) calls ensure_training_room) the Training
    dock grows to ~45% of the window height."""
    win.resize(1400, 1000)
    win.show()
    qtbot.waitExposed(win)
    dock = win.docks["training"]
    win.show_tab("training")
    QApplication.processEvents()
    win.resizeDocks([dock], [150], Qt.Orientation.Vertical)
    QApplication.processEvents()
    assert dock.height() < 0.3 * win.height()
    win.ensure_training_room()
    QApplication.processEvents()
    assert dock.height() >= 0.4 * win.height()


def test_default_dock_sizes_keep_room_for_a_shown_training_tab(win, qtbot):
    """Fitting the docks to the window (first run, screenshots) must not squash the Training
    tab's plots back to the Summary's height when that tab is the one shown."""
    win.resize(1360, 850)
    win.show()
    qtbot.waitExposed(win)
    win.show_tab("training")
    QApplication.processEvents()
    win.fit_docks_to_window()
    QApplication.processEvents()
    assert win.docks["training"].height() >= 0.4 * win.height()
    win.show_tab("summary")
    QApplication.processEvents()
    win.fit_docks_to_window()
    QApplication.processEvents()
    assert win.docks["summary"].height() <= 0.35 * win.height()
