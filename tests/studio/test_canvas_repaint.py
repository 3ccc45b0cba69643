"""What the canvas paints after an edit, as Qt repaints only what changed: wire labels keep
their bounding box while a new shape fits in it and wires change colour without a geometry
change (see shape_label.py, EdgeItem.setPen), so a stale pixel would show here. The window's
pixels after edits and undos must equal a full repaint, at two zoom levels."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from engine.graph import Graph
from engine.project import Project, save_project
from studio.commands import SetParamCommand

from .helpers import main_window


def row_of_layers(tmp_path):
    """x -> l0 Linear -> l1 Tanh -> add(+ x) -> l3 Linear -> l4 Tanh -> l5 Linear -> y, left
    to right: every wire in view; a new width of l0 breaks the Add (red wires after it)."""
    g = Graph()
    x = g.add_node("io.Input", {"shape": [8]}, name="x", pos=(0, 0))
    prev = x
    for i, (kind, params) in enumerate([("core.Linear", {"out_features": 8}), ("act.Tanh", {}),
                                        ("merge.Add", {}), ("core.Linear", {"out_features": 8}),
                                        ("act.Tanh", {}), ("core.Linear", {"out_features": 8}),
                                        ("io.Output", {})]):
        node = g.add_node(kind, params, name=f"l{i}", pos=(200 * (i + 1), 0))
        g.connect(prev.id, "out", node.id, "in1" if kind == "merge.Add" else "in")
        if kind == "merge.Add":
            g.connect(x.id, "out", node.id, "in2")
        prev = node
    return save_project(Project(g, meta={"name": "row"}), tmp_path / "row.nnproj")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    with main_window(qtbot, tmp_path, monkeypatch) as win:
        assert win.open_file(row_of_layers(tmp_path))
        win.resize(1100, 700)
        yield win


def painted(win, qtbot):
    """The view's pixels as Qt left them after its own (partial) repaints."""
    qtbot.waitUntil(lambda: not win.scene.labels_pending() and not win.document.idle.pending(),
                    timeout=10_000)
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(30)
    view = win.view.viewport()
    top_left = view.mapTo(win, view.rect().topLeft())
    return win.screen().grabWindow(win.winId(), top_left.x(), top_left.y(),
                                   view.width(), view.height()).toImage()


def repainted(win):
    win.view.viewport().repaint()
    view = win.view.viewport()
    top_left = view.mapTo(win, view.rect().topLeft())
    return win.screen().grabWindow(win.winId(), top_left.x(), top_left.y(),
                                   view.width(), view.height()).toImage()


@pytest.mark.parametrize("zoom", [0.7, 1.6])
def test_partial_repaints_after_edits_equal_a_full_repaint(window, qtbot, zoom):
    g, doc, scene = window.document.graph, window.document, window.scene
    first, middle = g.by_name("l0"), g.by_name("l3")
    window.view.set_zoom(zoom)
    window.view.centerOn(scene.nodes[middle.id])
    assert not repainted(window).isNull()
    edits = [
        lambda: doc.push(SetParamCommand(g, middle.id, "out_features", 1024)),   # wider
        lambda: doc.push(SetParamCommand(g, first.id, "out_features", 3)),     # red wires
        lambda: doc.push(SetParamCommand(g, first.id, "out_features", 5)),
        doc.undo_stack.undo, doc.undo_stack.undo, doc.undo_stack.undo,
    ]
    shown = []
    for edit in edits:
        edit()
        image = painted(window, qtbot)
        assert image == repainted(window)
        shown.append(sorted(item.label.text() for item in scene.edges.values()))
    assert shown[0].count("N×1024") == 2
    assert shown[1].count("N×3") == 2 and shown[1].count("?") == 4
    assert sum(e.bad for e in scene.edges.values()) == 0
    assert shown[-1] == sorted(["N×8"] * len(scene.edges))


def test_a_label_is_hit_on_its_plate_only(window):
    """The box kept for a wider shape is not clickable: tooltips and clicks use the plate."""
    g, doc, scene = window.document.graph, window.document, window.scene
    linear = g.by_name("l5")
    doc.push(SetParamCommand(g, linear.id, "out_features", 123456))
    doc.undo_stack.undo()
    scene.flush_labels()
    label = next(e for e in scene.edges.values() if e.edge.src == linear.id).label
    plate = label.shape().boundingRect()
    assert label.boundingRect().width() > plate.width() + 20      # the box stayed wide
    left_of_plate = label.mapToScene(plate.left() - 8, 0)
    assert label not in scene.items(left_of_plate)
    assert label in scene.items(label.mapToScene(plate.center()))


def test_a_theme_switch_repaints_the_cached_background(window, qtbot):
    """The grid is cached (drawn once per zoom and scroll): switching the theme must redraw
    it in the new colours, not show the old cache."""
    from PySide6.QtGui import QColor

    from studio.ui.theme import canvas_colors

    def corner(win):   # the commonest colour of the top-left corner: between grid lines
        from collections import Counter

        image = painted(win, qtbot)
        return Counter(image.pixelColor(x, y).name()
                       for x in range(40) for y in range(40)).most_common(1)[0][0]

    light = corner(window)
    assert light == QColor(canvas_colors().background).name()
    try:
        window.set_theme("dark")
        dark = corner(window)
        assert dark == QColor(canvas_colors().background).name() != light
    finally:
        window.set_theme("light")
    assert corner(window) == light
