"""Files in the window: open failures keep the document, save/title/modified marker, the
unsaved-changes prompt, autosave to a recovery file and restoring it on the next start."""
from __future__ import annotations

import json
import os
import shutil

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from engine.examples import example_path
from studio.commands import SetParamCommand
from studio.document import Document
from studio.ui.main_window import MainWindow

from .helpers import dispose

Button = QMessageBox.StandardButton


@pytest.fixture
def boxes(monkeypatch):
    """Captures message boxes; `answers` is the queue of replies to question()."""
    record = {"critical": [], "question": [], "answers": []}

    def critical(parent, title, text, *a, **k):
        record["critical"].append((title, text))
        return Button.Ok

    def question(parent, title, text, *a, **k):
        record["question"].append((title, text))
        return record["answers"].pop(0) if record["answers"] else Button.Discard

    monkeypatch.setattr(QMessageBox, "critical", critical)
    monkeypatch.setattr(QMessageBox, "question", question)
    return record


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    path = tmp_path / "model.nnproj"
    shutil.copyfile(example_path("digits_cnn"), path)
    return path


@pytest.fixture
def window(qtbot, tmp_path):
    made: list[MainWindow] = []

    def make(*_args) -> MainWindow:
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        win = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
        win.load_panels(())  # file handling needs no side panels
        made.append(win)
        return win

    yield make
    for win in made:
        dispose(win)


@pytest.mark.parametrize("content, expect", [
    (b"{ not json", "invalid JSON"),
    (b'{"format_version": 1, "graph": {"nodes": [{"id": "a", "type": "core.Nope", "name": "x"}]}}',
     "core.Nope"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (b'{"format_version": 99, "graph": {}}', "newer"),
])
def test_open_corrupt_file_shows_message_and_keeps_document(window, qtbot, tmp_path, project,
                                                            boxes, content, expect):
    win = window(qtbot, tmp_path)
    assert win.open_file(project)
    win.document.push(SetParamCommand(win.document.graph, "n2", "out_channels", 4))
    before, stack = win.document.to_json(), win.document.undo_stack.count()
    bad = tmp_path / "broken.nnproj"
    bad.write_bytes(content)
    assert not win.open_file(bad, ask_unsaved=False)
    assert len(boxes["critical"]) == 1
    _title, text = boxes["critical"][0]
    assert "broken.nnproj" in text and expect in text
    assert win.document.to_json() == before
    assert win.document.path == project and win.document.undo_stack.count() == stack
    assert win.windowTitle() == "model* — Studio"
    assert len(win.scene.nodes) == 12


def test_save_title_and_recent_files(window, qtbot, tmp_path, project, boxes):
    win = window(qtbot, tmp_path)
    win.open_file(project)
    assert win.windowTitle() == "model — Studio"
    win.document.push(SetParamCommand(win.document.graph, "n8", "out_features", 20))
    assert win.windowTitle() == "model* — Studio"
    assert win.save(wait=True)
    assert win.windowTitle() == "model — Studio"
    assert json.loads(project.read_text())["graph"]["nodes"][7]["params"]["out_features"] == 20
    assert win.recent_files()[0] == str(project.resolve())
    other = tmp_path / "copy.nnproj"
    win._save_to(other, wait=True)
    assert win.windowTitle() == "copy — Studio" and win.recent_files()[0] == str(other)


def test_close_with_unsaved_changes_asks(window, qtbot, tmp_path, project, boxes):
    win = window(qtbot, tmp_path)
    win.open_file(project)
    win.show()
    win.document.push(SetParamCommand(win.document.graph, "n8", "out_features", 20))
    boxes["answers"] = [Button.Cancel]
    assert not win.close() and win.isVisible()
    boxes["answers"] = [Button.Save]
    assert win.close()
    assert json.loads(project.read_text())["graph"]["nodes"][7]["params"]["out_features"] == 20
    assert len(boxes["question"]) == 2


def test_new_asks_then_discards(window, qtbot, tmp_path, project, boxes):
    win = window(qtbot, tmp_path)
    win.open_file(project)
    win.document.push(SetParamCommand(win.document.graph, "n8", "out_features", 20))
    boxes["answers"] = [Button.Discard]
    win.new_file()
    assert not win.document.graph.nodes and win.windowTitle() == "untitled — Studio"
    assert not win.scene.nodes


def test_autosave_then_recovery_on_next_start(window, qtbot, tmp_path, project, boxes):
    win = window(qtbot, tmp_path)
    win.open_file(project)
    assert win.document.autosave() is None  # nothing to save while unmodified
    win.document.push(SetParamCommand(win.document.graph, "n8", "out_features", 33))
    rec = win.document.autosave()
    assert rec is not None and rec.exists() and rec.parent == tmp_path / "recovery"
    assert win.document.autosave() is None  # unchanged since the last autosave
    edited = win.document.project.to_dict()["graph"]
    # "crash": the window goes away without a clean close; the recovery file stays
    win.document.autosave_timer.stop()

    win2 = window(qtbot, tmp_path)
    win2.open_file(project)
    boxes["answers"] = [Button.Yes]
    assert win2.offer_recovery(project)
    assert "Restore" in boxes["question"][-1][0]
    assert win2.document.project.to_dict()["graph"] == edited
    assert win2.document.modified and win2.windowTitle() == "model* — Studio"
    assert win2.document.path == project
    assert win2.scene.nodes["n8"].node.params["out_features"] == 33
    win2._save_to(project, wait=True)
    assert not rec.exists()  # saving drops the recovery file
    assert win2.document.pending_recovery(project) is None


def test_recovery_declined_or_older_than_the_file(window, qtbot, tmp_path, project, boxes):
    win = window(qtbot, tmp_path)
    win.open_file(project)
    win.document.push(SetParamCommand(win.document.graph, "n8", "out_features", 33))
    rec = win.document.autosave()
    win2 = window(qtbot, tmp_path)
    win2.open_file(project)
    boxes["answers"] = [Button.No]
    assert not win2.offer_recovery(project)
    assert not rec.exists()
    assert win2.document.graph.nodes["n8"].params["out_features"] == 64
    # a recovery file older than the saved project is ignored
    win.document.push(SetParamCommand(win.document.graph, "n8", "out_features", 34))
    rec = win.document.autosave()
    assert win2.document.pending_recovery(project) == rec
    os.utime(rec, (1, 1))
    assert win2.document.pending_recovery(project) is None


def test_autosave_timer_writes_recovery(window, qtbot, tmp_path, project, boxes):
    doc = Document(autosave_ms=50)
    doc.open(project)
    doc.push(SetParamCommand(doc.graph, "n8", "out_features", 12))
    qtbot.waitUntil(lambda: doc.recovery_path().exists(), timeout=3000)
    data = json.loads(doc.recovery_path().read_text())
    assert data["graph"]["nodes"][7]["params"]["out_features"] == 12
    doc.close()
    assert not doc.recovery_path().exists()
