"""File > Compare with…: the canvas coloured by the diff (added green, removed ghosted,
changed amber), a list that jumps to each change, live while editing, cleared on close."""
from __future__ import annotations

import shutil

import pytest
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from engine.examples import example_path
from engine.project import load_project, save_project
from studio.commands import SetParamCommand
from studio.document import Document
from studio.ui.compare.overlay import ADDED, CHANGED
from studio.ui.compare.panel import compare_panel
from studio.ui.main_window import MainWindow


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    yield w
    w.document.close()
    shiboken6.delete(w)


def _versions(tmp_path):
    """last_week.nnproj (the xor example) and today.nnproj: hidden widened, tanh replaced
    by a ReLU, the output frozen."""
    old = shutil.copyfile(example_path("xor_mlp"), tmp_path / "last_week.nnproj")
    p = load_project(old)
    g = p.graph
    g.set_param("n2", "out_features", 16)
    g.remove_node("n3")
    g.add_node("act.ReLU", name="relu", node_id="n9", pos=(440.0, 320.0))
    g.connect("n2", "out", "n9", "in")
    g.connect("n9", "out", "n4", "in")
    return old, save_project(p, tmp_path / "today.nnproj")


def test_compare_colours_the_canvas_and_lists_the_changes(win, tmp_path, qtbot):
    old, new = _versions(tmp_path)
    win.open_file(new)
    panel = compare_panel(win)
    assert panel.compare_with(old)
    overlay = panel.overlay
    assert overlay.colour_of("n9") == ADDED              # relu: added
    assert overlay.colour_of("n2") == CHANGED            # hidden: 8 -> 16
    assert overlay.colour_of("n1") is None and overlay.colour_of("n4") is None
    ghost = overlay.ghosts["n3"]                          # tanh: removed, at its old place
    assert ghost.scene() is win.scene and (ghost.pos().x(), ghost.pos().y()) == (440, 200)
    assert ghost.opacity() < 1
    halo = overlay.halos["n2"]
    assert halo.parentItem() is win.scene.nodes["n2"] and "out_features: 8 -> 16" in \
        halo.toolTip()
    rows = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert rows[:3] == ["~ hidden", "+ relu", "− tanh"]
    assert "+ wire" in rows and "− wire" in rows
    assert "1 added, 1 removed, 1 changed" in panel.summary.text()
    assert "params: 33 -> 65" in panel.summary.text()
    # the list jumps to each change
    panel.jump(panel.tree.topLevelItem(1))
    assert win.scene.selected_ids() == ["n9"]
    panel.jump(panel.tree.topLevelItem(2))
    assert win.view.mapToScene(win.view.viewport().rect().center()).x() == \
        pytest.approx(ghost.pos().x() + 56, abs=2)
    # edits are followed: undoing the width change makes hidden unchanged
    win.document.push(SetParamCommand(win.document.graph, "n2", "out_features", 8))
    qtbot.waitUntil(lambda: overlay.colour_of("n2") is None, timeout=5000)
    assert overlay.colour_of("n9") == ADDED
    panel.close_comparison()
    assert not overlay.items and not [i for i in win.scene.items()
                                      if i in (ghost, halo)]
    assert win.scene.nodes["n2"].childItems() and all(
        c not in overlay.items for c in win.scene.nodes["n2"].childItems())


def test_compare_with_a_run_snapshot_and_bad_files(win, tmp_path, monkeypatch):
    old, new = _versions(tmp_path)
    win.open_file(new)
    run = tmp_path / "today.runs" / "run-1"
    run.mkdir(parents=True)
    snap = load_project(old)
    (run / "config.json").write_text(
        '{"graph": %s, "training": {}, "dataset": {}}' % __import__("json").dumps(
            snap.graph.to_dict()))
    panel = compare_panel(win)
    assert panel.compare_with(run)
    assert "Changes since run run-1" in panel.summary.text()
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a: shown.append(text))
    bad = tmp_path / "bad.nnproj"
    bad.write_text("{")
    assert not panel.compare_with(bad)
    assert shown and "bad.nnproj" in shown[0]
    assert panel.other is not None       # the previous comparison stays


def test_file_menu_has_compare_and_bundle(win):
    texts = [a.text() for a in win.menuBar().actions()[0].menu().actions()]
    assert "Co&mpare with…" in texts and "Export Hand-off &Bundle…" in texts
