"""An edit on a big graph is validated in steps, one per turn of the event loop: the canvas
shows the part in view at once, and once every step has run the labels, badges, Problems
list and summary are exactly what a full validation of the graph says, also across edits,
undos, redos, a breaking edit and opening another project mid-way."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from engine.validate import validate
from studio.commands import SetParamCommand
from studio.document import Document

from .test_big_graph_edits import (N_LAYERS, expected_labels, labels, long_chain, settled,
                                   shown_everywhere, window)

__all__ = ["window"]   # the fixture, shared with test_big_graph_edits

STEP = 25   # nodes per step: the 200-layer chain takes eight


@pytest.fixture(autouse=True)
def small_steps(monkeypatch):
    monkeypatch.setattr(Document, "VALIDATION_STEP", STEP)


def problems_shown(win) -> list[str]:
    return sorted(f"{i.severity}: {i.message}" for i in win.panels["problems"].issues)


def problems_expected(win) -> list[str]:
    doc = win.document
    return sorted(f"{i.severity}: {i.message}"
                  for i in validate(doc.graph, checks=[doc.fit]).issues)


def test_each_step_is_shown_and_the_panels_follow_once_all_are_done(window, qtbot):
    doc, g = window.document, window.document.graph
    first_linear = next(n for n in g.nodes.values() if n.type == "core.Linear")
    window.view.centerOn(window.scene.nodes[first_linear.id])
    QApplication.processEvents()
    validated = []
    doc.validated.connect(validated.append)
    doc.push(SetParamCommand(g, first_linear.id, "out_features", 6))
    assert doc.validating and not validated        # the rest of the graph: later
    assert not doc._report.complete
    seen, expected = window.scene._visible_rect(), expected_labels(window)
    now = labels(window)
    shown = [e for e, item in window.scene.edges.items()
             if seen.contains(item.label.scenePos())]
    assert shown and all(now[e] == expected[e] for e in shown)   # nothing stale in view
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    assert not doc.validating and len(validated) == 1 and validated[0].complete
    assert labels(window) == expected_labels(window)
    assert sum(t == "N×6" for t in labels(window).values()) == N_LAYERS - 1


def test_edit_break_undo_redo_settle_exactly_as_a_full_validation(window, qtbot):
    doc, g = window.document, window.document.graph
    linears = [n.id for n in g.nodes.values() if n.type == "core.Linear"]
    inp = next(n.id for n in g.nodes.values() if n.type == "io.Input")
    everything = dict.fromkeys(shown_everywhere(window), True)
    steps = [lambda: doc.push(SetParamCommand(g, linears[0], "out_features", 6)),
             lambda: doc.push(SetParamCommand(g, inp, "dtype", "long")),   # breaks it all
             doc.undo_stack.undo, doc.undo_stack.undo, doc.undo_stack.redo,
             # two edits before the first one's steps are done
             lambda: (doc.push(SetParamCommand(g, linears[0], "out_features", 3)),
                      QApplication.processEvents(),
                      doc.push(SetParamCommand(g, linears[-1], "out_features", 2)))]
    for step in steps:
        step()
        qtbot.waitUntil(lambda: settled(window), timeout=20_000)
        assert shown_everywhere(window) == everything
        assert problems_shown(window) == problems_expected(window)
        assert doc.report() is doc._report and doc.report().complete
    assert problems_shown(window) == []
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    doc.undo_stack.redo()
    window.scene.flush_labels()   # what a screenshot does: all of it at once
    assert not doc.validating
    assert labels(window) == expected_labels(window)
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    assert shown_everywhere(window) == everything
    assert problems_shown(window) == problems_expected(window)


def test_opening_another_project_mid_validation_leaves_nothing_of_the_first(
        window, qtbot, tmp_path):
    doc, g = window.document, window.document.graph
    first_linear = next(n for n in g.nodes.values() if n.type == "core.Linear")
    doc.push(SetParamCommand(g, first_linear.id, "out_features", 6))
    assert doc.validating
    other = tmp_path / "b"
    other.mkdir()
    assert window.open_file(long_chain(other, n=40), ask_unsaved=False)
    assert not doc.validating
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    b = window.document.graph
    assert set(window.scene.nodes) == set(b.nodes)
    assert labels(window) == expected_labels(window)
    assert all(t == "N×8" for t in labels(window).values())   # none of A's N×6
    assert shown_everywhere(window) == dict.fromkeys(shown_everywhere(window), True)
    assert problems_shown(window) == problems_expected(window) == []


def test_an_edit_that_changes_no_text_repaints_no_status_label(window, qtbot):
    """A move changes neither the layer count nor the parameters: the status bar's validity
    label keeps its pixels (setting the same style sheet again repainted it), and of the
    toolbar only Undo and Redo may repaint (a new 'Undo <edit>' label re-laid it out)."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QToolBar, QToolButton

    from studio.commands import MoveNodesCommand

    paints = []

    class Count(QObject):
        def eventFilter(self, obj, event):   # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint:
                paints.append(obj)
            return False

    doc, g = window.document, window.document.graph
    node = next(iter(g.nodes.values()))
    x, y = node.pos
    doc.push(MoveNodesCommand(g, {node.id: ((x, y), (x + 40, y))}))   # Undo enabled
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    for _ in range(3):
        QApplication.processEvents()
    counter = Count()
    toolbar = window.findChild(QToolBar, "toolbar_main")
    others = [b for b in toolbar.findChildren(QToolButton)
              if b.defaultAction() not in (window.act["undo"], window.act["redo"])]
    assert others
    for w in [window.validity, *others]:
        w.installEventFilter(counter)
    text = window.validity.text()
    doc.push(MoveNodesCommand(g, {node.id: ((x + 40, y), (x + 80, y))},
                              text="Move the input a long way"))   # a wider 'Undo …'
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    for _ in range(3):
        QApplication.processEvents()
    assert window.validity.text() == text
    assert paints == []


def test_the_summary_keeps_its_selection_and_scroll_across_edits(window, qtbot):
    """An edit that keeps the layers redraws the summary rows that changed, not the whole
    table: the row the user selected and the scroll position stay; the rows are a fresh
    summary's."""
    doc, g = window.document, window.document.graph
    summary = window.panels["summary"]
    window.docks["summary"].raise_()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    table = summary.table
    table.selectRow(120)
    table.scrollTo(summary.model.index(120, 0))
    scrolled = table.verticalScrollBar().value()
    assert scrolled > 0
    first_linear = next(n for n in g.nodes.values() if n.type == "core.Linear")
    for step in (lambda: doc.push(SetParamCommand(g, first_linear.id, "out_features", 5)),
                 doc.undo_stack.undo):
        step()
        qtbot.waitUntil(lambda: settled(window), timeout=20_000)
        assert [i.row() for i in table.selectionModel().selectedRows()] == [120]
        assert table.verticalScrollBar().value() == scrolled
        assert shown_everywhere(window)["summary rows"]


def test_an_edit_shows_at_once_in_a_view_far_down_the_graph(window, qtbot):
    """The view shows the end of the chain: the first step of an edit at its head goes on
    past its limit until the nodes in view are validated, so their labels are right in the
    edit's own frame (every node before them has to be inferred for that)."""
    doc, g = window.document, window.document.graph
    first_linear = next(n for n in g.nodes.values() if n.type == "core.Linear")
    last = [n for n in g.nodes.values() if n.type == "io.Output"][-1]
    window.view.centerOn(window.scene.nodes[last.id])
    QApplication.processEvents()
    doc.push(SetParamCommand(g, first_linear.id, "out_features", 6))
    seen, expected = window.scene._visible_rect(), expected_labels(window)
    now = labels(window)
    shown = [e for e, item in window.scene.edges.items()
             if seen.contains(item.label.scenePos())]
    assert shown and all(now[e] == expected[e] for e in shown)
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    assert labels(window) == expected_labels(window)
