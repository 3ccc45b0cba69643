"""Edits on a big graph touch only what changed: wire labels whose shape changed (those in
view at once, the rest in batches), and no panel rebuilds its per-layer widgets when the
layers are the same."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.graph import Graph
from engine.project import Project, save_project
from studio.commands import SetParamCommand
from studio.document import Document
from studio.ui.canvas.edge_item import EdgeItem
from studio.ui.main_window import MainWindow

from .helpers import dispose

N_LAYERS = 200   # a Linear, 198 activations, a Linear: 199 wires change with the first


def long_chain(tmp_path, n=N_LAYERS):
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [8]}, name="x", pos=(0, 0))
    for i in range(n):
        kind, params = ("core.Linear", {"out_features": 8}) if i in (0, n - 1) else \
            (("act.ReLU", {}) if i % 2 else ("act.Tanh", {}))
        node = g.add_node(kind, params, name=f"l{i}", pos=(0, 120 * (i + 1)))
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    out = g.add_node("io.Output", {}, name="y", pos=(0, 120 * (n + 1)))
    g.connect(prev.id, "out", out.id, "in")
    return save_project(Project(g, meta={"name": "chain"}), tmp_path / "chain.nnproj")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    win = MainWindow(Document(autosave_ms=0),
                     QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert win.open_file(long_chain(tmp_path))
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    win.scene.flush_labels()
    yield win
    dispose(win)


def labels(win):
    return {e: item.label.text() for e, item in win.scene.edges.items()}


def count_set_shape(monkeypatch):
    calls = []
    real = EdgeItem.set_shape

    def spy(self, text, bad):
        calls.append(self.edge)
        return real(self, text, bad)

    monkeypatch.setattr(EdgeItem, "set_shape", spy)
    return calls


def test_only_the_wires_whose_shape_changed_are_updated(window, monkeypatch):
    g = window.document.graph
    last_linear = [n for n in g.nodes.values() if n.type == "core.Linear"][-1]
    before = labels(window)
    calls = count_set_shape(monkeypatch)
    window.document.push(SetParamCommand(g, last_linear.id, "out_features", 5))
    QApplication.processEvents()
    window.scene.flush_labels()
    after = labels(window)
    changed = {e for e in after if after[e] != before[e]}
    assert len(changed) == 1 and set(calls) == changed   # the last Linear's wire alone
    assert all(after[e] == "N×5" for e in changed)


def test_an_edit_at_the_head_shows_in_view_at_once_and_everywhere_soon(window, qtbot):
    scene, g = window.scene, window.document.graph
    first_linear = next(n for n in g.nodes.values() if n.type == "core.Linear")
    window.view.centerOn(scene.nodes[first_linear.id])
    QApplication.processEvents()
    window.document.push(SetParamCommand(g, first_linear.id, "out_features", 6))
    now = labels(window)
    in_view = [e for e, t in now.items() if t == "N×6"]
    assert 0 < len(in_view) < len(now) - 2       # the visible wires first ...
    seen, expected = scene._visible_rect(), expected_labels(window)
    shown = [e for e, item in scene.edges.items() if seen.contains(item.label.scenePos())]
    assert shown and all(now[e] == expected[e] for e in shown)   # nothing stale in view
    qtbot.waitUntil(lambda: not scene.labels_pending(), timeout=10_000)   # ... then the rest
    final = labels(window)
    assert sum(t == "N×6" for t in final.values()) == N_LAYERS - 1  # between the Linears
    window.document.undo_stack.undo()
    scene.flush_labels()
    assert sum(t == "N×8" for t in labels(window).values()) == len(final)


def test_panels_keep_their_per_layer_widgets_across_edits(window):
    settings = window.panels["training"].settings
    table = settings.reg_table
    spin = table.cellWidget(0, 1)
    g = window.document.graph
    first_linear = next(n for n in g.nodes.values() if n.type == "core.Linear")
    window.document.push(SetParamCommand(g, first_linear.id, "out_features", 6))
    window.document.undo_stack.undo()
    assert table.cellWidget(0, 1) is spin      # not rebuilt: the same layers
    assert table.rowCount() == 2


def expected_labels(win):
    """Every wire's label from a validation of the graph from scratch."""
    from engine.validate import validate

    g = win.document.graph
    report = validate(g)
    return {e: str(report.edge_type(e, g) or "?") for e in win.scene.edges}


def test_quick_edits_and_undos_leave_every_label_as_a_full_validation_says(window):
    """Edits that follow one another before the batched labels are shown (each applied
    from the nodes the last one changed) end with the labels a fresh validation gives,
    red wires included."""
    scene, g, doc = window.scene, window.document.graph, window.document
    linears = [n.id for n in g.nodes.values() if n.type == "core.Linear"]
    window.view.centerOn(scene.nodes[linears[0]])
    for nid, width in [(linears[0], 6), (linears[-1], 3), (linears[0], 5), (linears[0], 8)]:
        doc.push(SetParamCommand(g, nid, "out_features", width))
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    inp = next(n.id for n in g.nodes.values() if n.type == "io.Input")
    doc.push(SetParamCommand(g, inp, "shape", [4]))   # the first Linear's input changes
    scene.flush_labels()
    assert labels(window) == expected_labels(window)
    assert sum(t == "N×6" for t in labels(window).values()) == N_LAYERS - 1
    doc.push(SetParamCommand(g, linears[0], "out_features", 7))
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    doc.undo_stack.redo()
    scene.flush_labels()
    assert labels(window) == expected_labels(window)


def settled(win):
    """Nothing left for later: every label batch and every panel refresh has run."""
    return not win.scene.labels_pending() and not win.document.idle.pending()


def shown_everywhere(win):
    """What the canvas and the panels show, next to what a fresh validation says."""
    from engine.summary import summarize
    from engine.validate import validate

    g = win.document.graph
    report = validate(g)
    fresh = summarize(g, report)
    summary = win.panels["summary"]
    rows = [(summary.cell_text(r, 0), summary.cell_text(r, 2), summary.cell_text(r, 3))
            for r in range(summary.model.rowCount())]
    reg = win.panels["training"].settings.reg_table
    reg_rows = [reg.cellWidget(r, 0).text() for r in range(reg.rowCount())]
    weighted = [g.nodes[nid].name for nid, n in report.param_counts.items() if n > 0]
    return {
        "labels": labels(win) == expected_labels(win),
        "summary rows": rows == [(r.name, r.output, f"{r.params:,}") for r in fresh.rows],
        "summary total": f"<b>{report.total_params:,}</b>" in summary.totals.text(),
        # while the graph is broken the table keeps the layers it listed (not emptied)
        "regularization rows": reg_rows == weighted if report.ok else
        set(reg_rows) <= {n.name for n in g.nodes.values()},
        "badges": all(bool(win.scene.nodes[nid].badge.messages) == bool(report.issues_for(nid))
                      for nid in g.nodes),
    }


def test_after_edit_undo_and_redo_the_panels_settle_on_what_the_graph_says(window, qtbot):
    """The edit shows on the canvas at once; the panels (summary, training settings) follow
    on later turns of the event loop, and once nothing is pending nothing shown is stale."""
    doc, g = window.document, window.document.graph
    first_linear = next(n for n in g.nodes.values() if n.type == "core.Linear")
    inp = next(n for n in g.nodes.values() if n.type == "io.Input")
    everything = dict.fromkeys(shown_everywhere(window), True)
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
    assert shown_everywhere(window) == everything
    for step in (lambda: doc.push(SetParamCommand(g, first_linear.id, "out_features", 6)),
                 lambda: doc.push(SetParamCommand(g, inp.id, "dtype", "long")),   # breaks it
                 doc.undo_stack.undo, doc.undo_stack.undo, doc.undo_stack.redo):
        step()
        qtbot.waitUntil(lambda: settled(window), timeout=10_000)
        assert shown_everywhere(window) == everything
    assert sum(t == "N×6" for t in labels(window).values()) == N_LAYERS - 1   # redone
