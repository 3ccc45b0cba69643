"""Data outside the project folder: the app asks once per project before reading it, and a
refusal leaves nothing started or loaded (a project file from a stranger cannot make Studio
read /etc/passwd as data)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from engine.graph import Graph
from engine.project import Project, load_project, save_project
from studio.document import Document
from studio.ui.dialogs import outside_data
from studio.ui.training.dataset import DatasetPicker
from studio.ui.training.panel import TrainingPanel


@pytest.fixture
def answers(monkeypatch, tmp_path):
    """Answer the question with the next entry of the list ('allow' or 'cancel'); records
    each question's text. Settings go to a file in tmp_path."""
    ini = tmp_path / "settings.ini"
    monkeypatch.setattr(outside_data, "QSettings",
                        lambda: QSettings(str(ini), QSettings.Format.IniFormat))
    queue, asked = [], []

    def exec_(box):
        asked.append(box.text())
        want = queue.pop(0)
        for button in box.buttons():
            is_allow = box.buttonRole(button) == QMessageBox.ButtonRole.AcceptRole
            if is_allow == (want == "allow"):
                button.click()
                break
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return queue, asked


def outside_project(tmp_path) -> Path:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    np.savez(outside / "data.npz", x=(rng.normal(0, 3, (3, 4))[y] +
                                      rng.normal(0, 0.5, (60, 4))).astype(np.float32), y=y)
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [4]}, name="x")
    for kind, params, name in [("core.Linear", {"out_features": 3}, "fc")]:
        node = g.add_node(kind, params, name=name)
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    out = g.add_node("io.Output", {}, name="y")
    g.connect(prev.id, "out", out.id, "in")
    (tmp_path / "proj").mkdir()
    return save_project(Project(g, {"source": "npz", "path": str(outside / "data.npz")},
                                {"epochs": 1, "batch_size": 16}),
                        tmp_path / "proj" / "stranger.nnproj")


def test_training_asks_once_per_project_and_a_refusal_starts_nothing(qtbot, tmp_path,
                                                                      answers):
    queue, asked = answers
    path = outside_project(tmp_path)
    doc = Document(load_project(path), autosave_ms=0)
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    try:
        queue.append("cancel")
        assert not panel.start()
        assert panel.worker is None and len(asked) == 1
        assert "elsewhere/data.npz" in asked[0] and "trust" in asked[0]
        assert not (tmp_path / "proj" / "stranger.runs").exists()
        queue.append("allow")
        assert panel.start()
        qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)
        assert len(asked) == 2 and (tmp_path / "proj" / "stranger.runs").exists()
        doc.open(path)  # the same project again: remembered, no question
        assert panel.start()
        qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)
        assert len(asked) == 2
    finally:
        panel.shutdown()


def test_a_project_edited_to_point_elsewhere_asks_again(tmp_path, answers):
    queue, asked = answers
    path = outside_project(tmp_path)
    queue.append("allow")
    assert outside_data.confirm_outside_data(None, load_project(path))
    assert outside_data.confirm_outside_data(None, load_project(path)) and len(asked) == 1
    project = load_project(path)
    project.dataset["path"] = "/etc/passwd"
    save_project(project)
    queue.append("cancel")
    again = load_project(path)
    assert not outside_data.confirm_outside_data(None, again)
    assert len(asked) == 2 and "/etc/passwd" in asked[1] and not again.allow_outside_data


def test_the_preview_asks_and_a_path_picked_by_the_user_needs_no_question(qtbot, tmp_path,
                                                                           answers):
    queue, asked = answers
    path = outside_project(tmp_path)
    doc = Document(load_project(path), autosave_ms=0)
    panel = DatasetPicker(doc)
    qtbot.addWidget(panel)
    queue.append("cancel")
    panel.load_preview()
    assert len(asked) == 1 and "Not loaded" in panel.info.text()
    doc.project.allow_outside_data = False
    other = tmp_path / "elsewhere" / "other.npz"
    other.write_bytes((tmp_path / "elsewhere" / "data.npz").read_bytes())
    panel.path.setText(str(other))  # typed by the user
    panel._path_edited()
    panel.load_preview()
    qtbot.waitUntil(lambda: panel.preview_data is not None, timeout=30_000)
    assert len(asked) == 1
