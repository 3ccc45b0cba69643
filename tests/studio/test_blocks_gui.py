"""Blocks in the editor, driven like a user: Ctrl+G makes a block from a selection, a second
instance comes from the palette, double-click opens it, an edit inside changes every
instance's shapes, the breadcrumb goes back, undo restores the file byte for byte."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog, QMessageBox, QToolButton

from engine.project import Project, save_project
from studio.document import Document
from studio.ui.main_window import MainWindow

from ..engine.helpers import chain
from .helpers import dispose


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setenv("STUDIO_BLOCK_LIBRARY", str(tmp_path / "library"))
    g, _ = chain([
        ("io.Input", {"shape": [3, 8, 8]}, "image"),
        ("conv.Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, "conv"),
        ("act.ReLU", {}, "relu"),
        ("core.Flatten", {}, "flatten"),
        ("core.Linear", {"out_features": 10}, "fc"),
        ("io.Output", {}, "y"),
    ])
    path = save_project(Project(g), tmp_path / "model.nnproj")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    w.load_panels(("palette", "inspector"))
    assert w.open_file(path)
    w.resize(1360, 850)
    w.show()
    qtbot.waitExposed(w)
    yield w
    dispose(w)


def labels(w: MainWindow) -> dict[tuple[str, str], str]:
    """The shape shown on each wire of the canvas, by (source name, destination name)."""
    g = w.document.edit_graph
    return {(g.nodes[e.src].name, g.nodes[e.dst].name): item.label.text()
            for e, item in w.scene.edges.items()}


def test_make_block_enter_edit_every_instance_back_and_undo(win, qtbot, monkeypatch):
    doc, g = win.document, win.document.graph
    original = doc.to_json()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("ConvReLU", True))
    win.scene.select_ids([g.by_name("conv").id, g.by_name("relu").id])
    win.activateWindow()
    win.view.setFocus()
    qtbot.waitUntil(win.view.hasFocus)
    QTest.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert "ConvReLU" in g.blocks and len(g.nodes) == 5
    inst = g.by_name("convrelu")
    assert inst.type == "block:ConvReLU" and doc.undo_stack.count() == 1
    assert labels(win)[("convrelu", "flatten")] == "N×4×8×8"

    # a second instance from the palette, dropped onto the wire after the first
    palette = win.panels["palette"]
    ids = [palette.tree.topLevelItem(0).child(i).data(0, Qt.ItemDataRole.UserRole)
           for i in range(palette.tree.topLevelItem(0).childCount())]
    assert "block:ConvReLU" in ids and "library:Bottleneck" in ids
    wire = win.scene.edges[next(e for e in g.edges if e.src == inst.id)]
    second = win.view.add_layer("block:ConvReLU", wire.path().pointAtPercent(0.5))
    assert second is not None and doc.report().ok
    assert doc.report().out_types[second][0].shape == (4, 8, 8)

    # open the first by double-click: the canvas shows the body, the breadcrumb appears
    item = win.scene.nodes[inst.id]
    win.view.centerOn(item)
    QTest.mouseDClick(win.view.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier,
                      win.view.mapFromScene(item.sceneBoundingRect().center()))
    body = g.blocks["ConvReLU"].graph
    assert doc.edit_graph is body and set(win.scene.nodes) == set(body.nodes)
    crumb = [b for b in win.findChildren(QToolButton) if b.text() == "model"]
    assert crumb and crumb[0].isVisible()
    assert labels(win)[("conv", "relu")] == "N×4×8×8"

    # change the conv inside: both instances (and the wires inside) follow
    conv = body.by_name("conv")
    win.scene.select_ids([conv.id])
    assert win.panels["inspector"].commit_param("out_channels", 8)
    report = doc.report()
    assert report.out_types[inst.id][0].shape == (8, 8, 8)
    assert report.out_types[second][0].shape == (8, 8, 8)
    assert labels(win)[("conv", "relu")] == "N×8×8×8"

    # back to the model by the breadcrumb: the wires show the new shapes
    crumb[0].click()
    assert doc.edit_graph is g and set(win.scene.nodes) == set(g.nodes)
    shown = labels(win)
    assert shown[("convrelu", "convrelu1")] == "N×8×8×8"
    assert shown[("convrelu1", "flatten")] == "N×8×8×8"

    # undo: one step per edit, back to the file as it was
    QTest.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert labels(win)[("convrelu1", "flatten")] == "N×4×8×8"
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.to_json() == original
    assert set(win.scene.nodes) == set(g.nodes) and not g.blocks


def test_ungroup_and_repeat_by_the_keyboard(win, qtbot, monkeypatch):
    doc, g = win.document, win.document.graph
    original = doc.to_json()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Stage", True))
    win.scene.select_ids([g.by_name("conv").id, g.by_name("relu").id])
    win.view.setFocus()
    QTest.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    inst = g.by_name("stage")
    conv = g.blocks["Stage"].graph.by_name("conv")
    g.blocks["Stage"].graph.set_param(conv.id, "out_channels", 3)  # so it can repeat
    assert win.panels["inspector"].node_id == inst.id
    assert win.panels["inspector"].commit_param("repeat", 3)
    assert doc.report().param_counts[inst.id] == 3 * (3 * 3 * 9 + 3)
    assert "×3" in win.scene.nodes[inst.id].node.spec.name + " ×3"
    win.scene.select_ids([inst.id])
    QTest.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert not any(n.is_block for n in g.nodes.values())
    assert sum(n.type == "conv.Conv2d" for n in g.nodes.values()) == 3
    assert doc.report().ok
    doc.undo_stack.undo()
    assert g.nodes[inst.id].params["repeat"] == 3
    g.blocks["Stage"].graph.set_param(conv.id, "out_channels", 4)
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.to_json() == original


def test_bind_a_parameter_to_a_new_argument_and_set_it_per_instance(win, qtbot,
                                                                      monkeypatch):
    doc, g = win.document, win.document.graph
    original = doc.to_json()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Stage", True))
    win.scene.select_ids([g.by_name("conv").id, g.by_name("relu").id])
    win.view.setFocus()
    QTest.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    inst = g.by_name("stage")
    assert win.blocks.enter(inst.id)
    body = doc.edit_graph
    win.scene.select_ids([body.by_name("conv").id])
    assert win.blocks.bind_parameter("out_channels", "width * 2")
    btype = g.blocks["Stage"]
    assert [a.name for a in btype.args] == ["width"] and btype.args[0].default == 4
    assert doc.report().out_types[inst.id][0].shape == (8, 8, 8)  # width 4 -> 8 channels
    win.blocks.leave(0)
    win.scene.select_ids([inst.id])
    assert win.panels["inspector"].commit_param("width", 3)
    assert doc.report().out_types[inst.id][0].shape == (6, 8, 8)
    assert "nn.Conv2d(in_channels, width * 2" in \
        __import__("engine").generate(g).source
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.to_json() == original
