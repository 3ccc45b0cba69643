"""The desktop app on hostile project files: files the loader accepts (mutated examples, odd
view settings, extreme positions and params) open in the main window without an exception;
files it refuses leave the open document untouched."""
from __future__ import annotations

import json
import random
import shutil

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from engine.examples import example_path

from . import fuzz


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    import shiboken6

    from studio.document import Document
    from studio.ui.main_window import MainWindow
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    errors = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: errors.append(a[2]))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    w.load_panels(("palette", "problems", "inspector", "summary"))
    w.show()
    qtbot.waitExposed(w)
    w.errors = errors
    yield w
    w.hide()
    w.document.close()
    shiboken6.delete(w)


def open_and_show(win, qtbot, path) -> bool:
    ok = win.open_file(path, ask_unsaved=False)
    win.apply_saved_view()
    qtbot.wait(1)
    return ok


VIEWS = [{"zoom": 10**400, "center": [0, 0]},
         {"zoom": 1e308, "center": [1e308, -1e308]}, {"zoom": 0, "center": [0, 0]},
         {"zoom": -3, "center": [5, 5]}, {"zoom": 1e-320, "center": [0, 0]},
         {"zoom": "2", "center": "ab"}, {"zoom": [1], "center": {"x": 1}},
         {"zoom": 1, "center": [10**400, 0]}]


@pytest.mark.parametrize("view", VIEWS, ids=range(len(VIEWS)))
def test_odd_view_settings_open(win, qtbot, tmp_path, view):
    data = json.loads(example_path("digits_cnn").read_text("utf-8"))
    data["view"] = view
    path = tmp_path / "view.nnproj"
    path.write_text(json.dumps(data))
    assert open_and_show(win, qtbot, path)
    assert len(win.document.graph.nodes) == len(data["graph"]["nodes"])


def test_mutated_files_open_or_are_refused_cleanly(win, qtbot, tmp_path):
    rnd = random.Random(11)
    shutil.copyfile(example_path("xor_mlp"), tmp_path / "good.nnproj")
    opened = refused = 0
    while opened < 8 or refused < 8:
        _label, raw = fuzz.hostile_file(rnd)
        outcome = fuzz.check_file(raw, tmp_path, "probe.nnproj")
        path = tmp_path / "hostile.nnproj"
        path.write_bytes(raw)
        if outcome.kind == "loaded" and opened < 8:
            assert open_and_show(win, qtbot, path), win.errors[-1:]
            opened += 1
        elif outcome.kind == "refused" and refused < 8:
            assert open_and_show(win, qtbot, tmp_path / "good.nnproj")
            before = win.document.graph.to_dict()
            assert not open_and_show(win, qtbot, path)
            assert win.document.graph.to_dict() == before  # nothing lost
            refused += 1
