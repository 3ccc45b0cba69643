"""The canvas driven like a user: palette drops, wiring by mouse, live shape labels, cycle
refusal and badges, moves, delete, duplicate, copy/paste, drop on a wire, undo to the file."""
from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from engine.examples import example_path
from engine.graph import Edge
from studio.commands import (
    NODES_MIME,
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    SetParamCommand,
)
from studio.document import Document
from studio.ui.canvas.edge_item import EdgeItem
from studio.ui.main_window import MainWindow, load_widget

from .helpers import dispose


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    # never block on a modal box (closing a modified window asks to save)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    made: list[MainWindow] = []

    def make(example: str | None = "digits_cnn") -> MainWindow:
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        win = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
        win.load_panels(("palette",))  # the canvas tests need only the palette
        made.append(win)
        if example:
            path = tmp_path / f"{example}.nnproj"
            if not path.exists():
                shutil.copyfile(example_path(example), path)
            assert win.open_file(path)
        win.resize(1400, 900)
        win.show()
        qtbot.waitExposed(win)
        return win

    yield make
    for win in made:
        dispose(win)


def port_point(win: MainWindow, node_id: str, port: str, output: bool) -> QPoint:
    item = win.scene.nodes[node_id].port(port, output)
    win.view.ensureVisible(item, 50, 50)
    return win.view.mapFromScene(item.scenePos())


def node_point(win: MainWindow, node_id: str) -> QPoint:
    item = win.scene.nodes[node_id]
    win.view.ensureVisible(item, 50, 50)
    return win.view.mapFromScene(item.sceneBoundingRect().center() + QPointF(0, 10))


def drag(win: MainWindow, a: QPoint, b: QPoint) -> None:
    vp = win.view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for t in (0.3, 0.6, 1.0):
        QTest.mouseMove(vp, a + (b - a) * t)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def drop_layer(win: MainWindow, layer_name: str, at: QPoint) -> None:
    """Drop the palette's own drag payload for `layer_name` on the canvas viewport."""
    palette = win.panels["palette"]
    items = palette.tree.findItems(layer_name, Qt.MatchFlag.MatchExactly
                                   | Qt.MatchFlag.MatchRecursive)
    mime = palette.tree.mimeData(items[:1])
    vp = win.view.viewport()
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(at, actions, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QGuiApplication.sendEvent(vp, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(at, actions, mime, Qt.MouseButton.LeftButton,
                          Qt.KeyboardModifier.NoModifier)
    QGuiApplication.sendEvent(vp, move)
    hovered = win.view._hover_edge
    if hovered is not None:
        assert hovered.hovered  # the wire that will take the layer is highlighted
    drop = QDropEvent(QPointF(at), actions, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, QEvent.Type.Drop)
    QGuiApplication.sendEvent(vp, drop)


def label(win: MainWindow, edge: Edge) -> str:
    return win.scene.edges[edge].label.text()


def test_drop_from_palette_adds_node_at_drop_position(make_window):
    win = make_window()
    before = len(win.document.graph.nodes)
    at = QPoint(300, 120)
    drop_layer(win, "Linear", at)
    g = win.document.graph
    assert len(g.nodes) == before + 1
    new = next(n for n in g.nodes.values() if n.id not in {f"n{i}" for i in range(1, 13)})
    assert new.type == "core.Linear"
    item = win.scene.nodes[new.id]
    assert item.sceneBoundingRect().adjusted(-25, -25, 25, 25).contains(win.view.mapToScene(at))
    assert win.scene.selected_ids() == [new.id]
    assert win.document.undo_stack.count() == 1


def test_drop_on_a_wire_inserts_the_layer(make_window, monkeypatch):
    win = make_window()
    highlighted = []
    original = EdgeItem.set_hovered
    monkeypatch.setattr(EdgeItem, "set_hovered",
                        lambda self, on: (highlighted.append((self.edge, on)),
                                          original(self, on))[1])
    g = win.document.graph
    edge = Edge("n7", "out", "n8", "in")  # flatten -> fc1
    mid = win.scene.edges[edge].path().pointAtPercent(0.5)
    win.view.centerOn(mid)
    drop_layer(win, "Dropout", win.view.mapFromScene(mid))
    assert not win.scene.edges[Edge("n7", "out", new_in := win.scene.selected_ids()[0],
                                    "in")].hovered
    new = new_in
    assert highlighted[:2] == [(edge, True), (edge, False)]  # shown while dragging
    assert g.nodes[new].type == "core.Dropout"
    assert Edge("n7", "out", new, "in") in g.edges and Edge(new, "out", "n8", "in") in g.edges
    assert label(win, Edge(new, "out", "n8", "in")) == "N×512"


def test_connect_two_ports_by_mouse_and_see_the_shape(make_window):
    win = make_window(None)
    doc = win.document
    g = doc.graph
    inp = doc.push(AddNodeCommand(g, "io.Input", {"shape": [12]}, (0, 0))).node_id
    fc = doc.push(AddNodeCommand(g, "core.Linear", {"out_features": 5}, (240, 40))).node_id
    win.view.set_zoom(1.0)
    win.view.centerOn(180, 60)
    drag(win, port_point(win, inp, "out", True), port_point(win, fc, "in", False))
    assert Edge(inp, "out", fc, "in") in g.edges
    assert label(win, Edge(inp, "out", fc, "in")) == "N×12"
    assert doc.undo_stack.undoText() == "Connect"


def test_param_edit_updates_the_wire_label(make_window):
    win = make_window()
    doc, g = win.document, win.document.graph
    e = Edge("n2", "out", "n3", "in")
    assert label(win, e) == "N×16×8×8"
    doc.push(SetParamCommand(g, "n2", "out_channels", 8))
    assert label(win, e) == "N×8×8×8"
    assert label(win, Edge("n6", "out", "n7", "in")) == "N×32×4×4"
    doc.push(SetParamCommand(g, "n2", "padding", 0))
    assert label(win, e) == "N×8×6×6"
    assert label(win, Edge("n7", "out", "n8", "in")) == "N×288"
    # fc1 expects flatten's size to be inferred, so everything stays valid; a bad kernel fails
    doc.push(SetParamCommand(g, "n2", "kernel_size", 9))
    assert win.scene.nodes["n2"].badge.isVisible()
    assert "8" in win.scene.nodes["n2"].badge.toolTip()
    assert win.scene.edges[Edge("n3", "out", "n4", "in")].bad
    doc.undo_stack.undo()
    assert not win.scene.nodes["n2"].badge.isVisible()
    assert not win.scene.edges[Edge("n3", "out", "n4", "in")].bad


def test_wire_that_closes_a_cycle_is_refused_with_a_message(make_window):
    win = make_window(None)
    doc, g = win.document, win.document.graph
    a = doc.push(AddNodeCommand(g, "io.Input", {"shape": [4]}, (0, 0), name="x")).node_id
    add = doc.push(AddNodeCommand(g, "merge.Add", {}, (240, 0), name="sum")).node_id
    fc = doc.push(AddNodeCommand(g, "core.Linear", {"out_features": 4}, (480, 0),
                                 name="fc")).node_id
    doc.push(ConnectCommand(g, a, "out", add, "in1"))
    doc.push(ConnectCommand(g, add, "out", fc, "in"))
    messages = []
    win.view.status_message.connect(messages.append)
    win.view.refused.connect(messages.append)
    win.view.set_zoom(1.0)
    win.view.centerOn(350, 40)
    count = doc.undo_stack.count()
    drag(win, port_point(win, fc, "out", True), port_point(win, add, "in2", False))
    assert Edge(fc, "out", add, "in2") not in g.edges
    assert doc.undo_stack.count() == count
    assert any("cycle" in m and "sum" in m and "fc" in m for m in messages)
    # a taken input is refused too
    drag(win, port_point(win, fc, "out", True), port_point(win, add, "in1", False))
    assert any("already connected" in m for m in messages)


def test_cycle_in_a_file_shows_error_badges_and_red_wires(make_window, tmp_path):
    win = make_window("digits_mlp")
    data = json.loads(example_path("digits_mlp").read_text())
    data["graph"]["nodes"].append({"id": "m1", "type": "merge.Add", "name": "loop",
                                   "params": {}, "pos": [300, 400]})
    fc2 = next(n["id"] for n in data["graph"]["nodes"] if n["name"] == "fc2")
    relu1 = next(n["id"] for n in data["graph"]["nodes"] if n["name"] == "relu1")
    data["graph"]["edges"] = [e for e in data["graph"]["edges"] if e["dst"] != fc2]
    data["graph"]["edges"] += [
        {"src": relu1, "src_port": "out", "dst": "m1", "dst_port": "in1"},
        {"src": "m1", "src_port": "out", "dst": fc2, "dst_port": "in"},
        {"src": fc2, "src_port": "out", "dst": "m1", "dst_port": "in2"}]
    path = tmp_path / "cycle.nnproj"
    path.write_text(json.dumps(data))
    assert win.open_file(path)
    badge = win.scene.nodes["m1"].badge
    assert badge.isVisible() and badge.severity == "error"
    assert "cycle through" in badge.toolTip() and "loop" in badge.toolTip()
    assert win.scene.edges[Edge(fc2, "out", "m1", "in2")].bad
    assert "problem" in win.validity.text()


def test_move_by_mouse_is_one_undoable_command(make_window):
    win = make_window()
    doc, g = win.document, win.document.graph
    win.view.set_zoom(1.0)
    start = node_point(win, "n3")
    old = g.nodes["n3"].pos
    drag(win, start, start + QPoint(60, 100))
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText().startswith("Move")
    x, y = g.nodes["n3"].pos
    assert (x - old[0], y - old[1]) == (60.0, 100.0)  # snapped to the 20 px grid
    assert x % 20 == 0 and y % 20 == 0
    doc.undo_stack.undo()
    assert g.nodes["n3"].pos == old
    assert win.scene.nodes["n3"].pos() == QPointF(*old)


def test_drag_a_free_node_onto_a_wire_inserts_it(make_window):
    win = make_window()
    doc, g = win.document, win.document.graph
    nid = doc.push(AddNodeCommand(g, "core.Dropout", {}, (1300, 500))).node_id
    win.view.set_zoom(1.0)
    edge_item = win.scene.edges[Edge("n8", "out", "n9", "in")]
    target = edge_item.path().pointAtPercent(0.5)
    win.view.centerOn(QPointF(1350, 400))
    a = node_point(win, nid)
    centre = win.scene.nodes[nid].sceneBoundingRect().center() + QPointF(0, 10)
    b = win.view.mapFromScene(target + QPointF(0, 10)) + (a - win.view.mapFromScene(centre))
    drag(win, a, b)
    assert Edge("n8", "out", nid, "in") in g.edges and Edge(nid, "out", "n9", "in") in g.edges
    assert doc.undo_stack.undoText() == "Insert on wire"
    doc.undo_stack.undo()
    assert Edge("n8", "out", "n9", "in") in g.edges and not g.in_edges(nid)


def test_delete_duplicate_and_keys(make_window, qtbot):
    win = make_window()
    g = win.document.graph
    win.scene.select_ids(["n3", "n4"])
    win.activateWindow()
    win.view.setFocus()
    qtbot.waitUntil(win.view.hasFocus)
    QTest.keyClick(win.view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(g.nodes) == 14
    new = win.scene.selected_ids()
    assert len(new) == 2 and Edge(new[0], "out", new[1], "in") in g.edges
    QTest.keyClick(win.view, Qt.Key.Key_Delete)
    assert len(g.nodes) == 12 and not set(new) & set(win.scene.nodes)
    win.scene.select_ids(["n5"])
    QTest.keyClick(win.view, Qt.Key.Key_Delete)
    assert "n5" not in g.nodes and "n5" not in win.scene.nodes
    assert not win.scene.nodes["n6"].in_ports["in"].connected
    assert win.scene.nodes["n6"].badge.isVisible()  # its input is now unconnected


def test_copy_paste_between_windows(make_window):
    a = make_window()
    b = make_window("digits_mlp")
    a.scene.select_ids(["n2", "n3"])
    assert a.editor.copy()
    text = QGuiApplication.clipboard().mimeData().text()
    assert json.loads(text)["format"] == "studio-nodes"
    assert QGuiApplication.clipboard().mimeData().hasFormat(NODES_MIME)
    before = set(b.document.graph.nodes)
    new = b.editor.paste()
    g = b.document.graph
    assert len(new) == 2 and not set(new) & before
    assert [g.nodes[n].type for n in new] == ["conv.Conv2d", "act.ReLU"]
    assert Edge(new[0], "out", new[1], "in") in g.edges
    assert len({n.name for n in g.nodes.values()}) == len(g.nodes)  # names stay unique
    assert b.scene.selected_ids() == new
    QGuiApplication.clipboard().setText("not studio nodes")
    assert b.editor.paste() == []


def test_undo_everything_restores_the_saved_file(make_window, tmp_path):
    win = make_window()
    doc, g = win.document, win.document.graph
    original = (tmp_path / "digits_cnn.nnproj").read_text()
    drop_layer(win, "Linear", QPoint(200, 100))
    doc.push(SetParamCommand(g, "n8", "out_features", 32))
    win.scene.select_ids(["n9", "n10"])
    win.editor.duplicate()
    win.scene.select_ids(["n4"])
    win.editor.delete_selection()
    win.editor.auto_layout()
    assert doc.modified and win.windowTitle() == "digits_cnn* — Studio"
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert not doc.modified and win.windowTitle() == "digits_cnn — Studio"
    out = tmp_path / "again.nnproj"
    doc.save_as(out)
    # the example predates weight records: a save says it has no weights, nothing else changes
    assert json.loads(out.read_text()) == {**json.loads(original), "weights": None}


def test_inspector_edit_changes_the_wire_label_and_undoes(make_window):
    win = make_window()
    inspector = load_widget("studio.ui.inspector", "InspectorWidget", win.document)
    if inspector is None:
        pytest.fail("the inspector widget is part of the app")
    win.scene.select_ids(["n5"])  # conv2
    inspector.set_node("n5")
    e = Edge("n5", "out", "n6", "in")
    assert label(win, e) == "N×32×4×4"
    assert inspector.commit_param("out_channels", 12)
    assert label(win, e) == "N×12×4×4"
    assert label(win, Edge("n7", "out", "n8", "in")) == "N×192"
    win.document.undo_stack.undo()
    assert label(win, e) == "N×32×4×4"
    inspector.deleteLater()


def test_locked_document_refuses_edits_and_moves_snap_back(make_window):
    win = make_window()
    doc, g = win.document, win.document.graph
    doc.locked = True
    messages = []
    win.view.status_message.connect(messages.append)
    win.view.refused.connect(messages.append)
    win.view.set_zoom(1.0)
    start = node_point(win, "n3")
    old = g.nodes["n3"].pos
    drag(win, start, start + QPoint(60, 100))
    assert g.nodes["n3"].pos == old and win.scene.nodes["n3"].pos() == QPointF(*old)
    assert any("training run" in m for m in messages)
    assert not doc.try_push(SetParamCommand(g, "n2", "out_channels", 3))
    assert doc.undo_stack.count() == 0


def test_rename_by_double_click(make_window, monkeypatch):
    win = make_window()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("features", True))
    win.view.set_zoom(1.0)
    QTest.mouseDClick(win.view.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, node_point(win, "n5"))
    assert win.document.graph.nodes["n5"].name == "features"
    assert win.document.undo_stack.undoText().startswith("Rename")


def test_rubber_band_and_ctrl_click_selection(make_window):
    win = make_window()
    win.view.set_zoom(1.0)
    # rubber band from empty canvas around relu1 and pool1
    r = win.scene.nodes_rect(["n3", "n4"]).adjusted(-15, -15, 15, 15)
    win.view.centerOn(r.center())
    drag(win, win.view.mapFromScene(r.topLeft()), win.view.mapFromScene(r.bottomRight()))
    assert win.scene.selected_ids() == ["n3", "n4"]
    assert win.document.selected_ids == ["n3", "n4"]
    # ctrl-click adds a node to the selection
    vp = win.view.viewport()
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     node_point(win, "n6"))
    assert win.scene.selected_ids() == ["n3", "n4", "n6"]
    assert win.document.undo_stack.count() == 0  # selection is not an edit


def test_middle_drag_pans_the_view(make_window):
    win = make_window()
    win.view.set_zoom(1.0)
    vp = win.view.viewport()
    before = win.view.mapToScene(vp.rect().center())
    a, b = QPoint(400, 300), QPoint(300, 250)
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(vp, b)
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, b)
    after = win.view.mapToScene(vp.rect().center())
    assert (after - before).toPoint() == QPoint(100, 50)
    assert win.document.undo_stack.count() == 0


def test_pick_up_a_wire_by_its_input_to_reroute_or_remove_it(make_window):
    win = make_window("multitask_two_heads")
    doc, g = win.document, win.document.graph
    ids = {n.name: n.id for n in g.nodes.values()}
    relu, digit_head, ge5_head = ids["shared_relu"], ids["digit_head"], ids["ge5_head"]
    win.view.set_zoom(1.0)
    win.view.centerOn(win.scene.nodes[digit_head].sceneBoundingRect().center())
    old = Edge(relu, "out", ge5_head, "in")
    # drag the wire's input end from ge5_head away onto empty canvas: it is removed
    a = port_point(win, ge5_head, "in", False)
    drag(win, a, a + QPoint(-40, 120))
    assert old not in g.edges and doc.undo_stack.undoText() == "Disconnect"
    doc.undo_stack.undo()
    assert old in g.edges and win.scene.edges[old].isVisible()
    # dropped on a taken input: refused, nothing changes
    drag(win, port_point(win, ge5_head, "in", False), port_point(win, digit_head, "in", False))
    assert old in g.edges and win.scene.edges[old].isVisible()
    assert doc.undo_stack.index() == 0 and doc.undo_stack.canRedo()
    # dropped on a free input: re-routed in one undoable step
    pos = win.scene.nodes[ge5_head].pos()
    spare = doc.push(AddNodeCommand(g, "core.Linear", {}, (pos.x(), pos.y() + 140))).node_id
    win.view.centerOn(win.scene.nodes_rect([ge5_head, spare]).center())
    drag(win, port_point(win, ge5_head, "in", False), port_point(win, spare, "in", False))
    assert old not in g.edges and Edge(relu, "out", spare, "in") in g.edges
    assert doc.undo_stack.undoText() == "Re-route wire"
    doc.undo_stack.undo()
    assert old in g.edges and not g.in_edges(spare)


def test_port_count_edit_and_wire_delete(make_window, qtbot):
    win = make_window("inception_block")
    doc, g = win.document, win.document.graph
    cat = next(n.id for n in g.nodes.values() if n.type == "merge.Concatenate")
    item = win.scene.nodes[cat]
    n_in = len(item.in_ports)
    last = f"in{n_in}"
    wire = g.edge_into(cat, last)
    assert wire is not None and wire in win.scene.edges
    errors = []
    doc.error.connect(errors.append)
    assert not doc.try_push(SetParamCommand(g, cat, "inputs", n_in - 1))  # port is wired
    assert "disconnect it first" in errors[-1] and last in item.in_ports
    doc.push(DisconnectCommand(g, wire))
    doc.push(SetParamCommand(g, cat, "inputs", n_in - 1))
    assert last not in item.in_ports and wire not in win.scene.edges
    assert not item.badge.isVisible() or item.badge.severity == "warning"
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert last in item.in_ports and wire in win.scene.edges
    assert item.in_ports[last].connected
    # select that wire and press Delete
    win.scene.clearSelection()
    win.scene.edges[wire].setSelected(True)
    win.activateWindow()
    win.view.setFocus()
    qtbot.waitUntil(win.view.hasFocus)
    QTest.keyClick(win.view, Qt.Key.Key_Delete)
    assert wire not in g.edges and wire not in win.scene.edges
    assert doc.undo_stack.undoText() == "Delete"
