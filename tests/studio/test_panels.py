"""Summary and problems panels follow the document."""
import re

import pytest
from PySide6.QtCore import Qt

from engine.examples import example_path
from engine.project import load_project
from engine.summary import summarize
from engine.validate import validate
from studio.commands import AddNodeCommand, ConnectCommand, SetParamCommand
from studio.document import Document
from studio.ui.panels.problems import ProblemsPanel
from studio.ui.panels.summary import SummaryPanel


@pytest.fixture
def doc(qtbot):
    d = Document(load_project(example_path("digits_cnn")), autosave_ms=0)
    yield d
    d.autosave_timer.stop()
    d.undo_stack.clear()


def _plain(label):
    return re.sub(r"<[^>]+>", "", label.text())


def _cell(panel, row, col):
    return panel.cell_text(row, col)


def test_summary_table_and_totals_match_the_engine(qtbot, doc):
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    total = validate(doc.graph).total_params
    assert panel.summary.total_params == total
    assert f"{total:,} parameters" in _plain(panel.totals)
    assert panel.model.rowCount() == len(doc.graph.nodes)
    names = [_cell(panel, r, 0) for r in range(panel.model.rowCount())]
    conv1 = names.index("conv1")
    assert _cell(panel, conv1, 1) == "Conv2d"
    assert _cell(panel, conv1, 2) == "N×16×8×8"
    assert _cell(panel, conv1, 3) == "160"
    assert _cell(panel, conv1, 5) == f"{16 * 64 * 9:,}"
    table_sum = sum(int(_cell(panel, r, 3).replace(",", "")) for r in range(len(names)))
    assert table_sum == total


def test_summary_double_click_emits_node(qtbot, doc):
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(800, 400)
    panel.show()
    row = [_cell(panel, r, 0) for r in range(panel.model.rowCount())].index("fc1")
    rect = panel.table.visualRect(panel.model.index(row, 1))
    with qtbot.waitSignal(panel.node_activated) as sig:
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [doc.graph.by_name("fc1").id]


def test_summary_follows_edits_and_batch_size(qtbot, doc):
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    fc1 = doc.graph.by_name("fc1")
    doc.push(SetParamCommand(doc.graph, fc1.id, "out_features", 32))
    new_total = validate(doc.graph).total_params
    qtbot.waitUntil(lambda: panel.summary.total_params == new_total, timeout=2000)
    assert f"{new_total:,} parameters" in _plain(panel.totals)
    panel.batch.setValue(1)
    act1 = summarize(doc.graph, batch_size=1).activation_bytes
    panel.batch.setValue(10)
    assert panel.summary.activation_bytes == 10 * act1
    assert "batch 10" in _plain(panel.totals)
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: panel.summary.total_params == validate(doc.graph).total_params,
                    timeout=2000)


def _make_cycle(doc):
    g = doc.graph
    a = doc.push(AddNodeCommand(g, "core.Linear", {}, (0, 400), name="loop_a")).node_id
    b = doc.push(AddNodeCommand(g, "act.ReLU", {}, (200, 400), name="loop_b")).node_id
    doc.push(ConnectCommand(g, a, "out", b, "in"))
    doc.push(ConnectCommand(g, b, "out", a, "in", allow_cycle=True))
    return a, b


def test_problems_lists_cycle_and_double_click_emits_node(qtbot, doc):
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(700, 200)
    panel.show()
    assert panel.issues == []
    assert "No problems" in panel.row_texts()[0]
    a, b = _make_cycle(doc)
    cycles = [i for i in panel.issues if i.kind == "cycle"]
    assert len(cycles) == 1  # listed once, although attached to both members
    texts = panel.row_texts()
    row = next(r for r, text in enumerate(texts) if "cycle" in text)
    assert "loop_a" in texts[row] and "loop_b" in texts[row]
    assert panel.status.text().startswith("1 error")
    rect = panel.tree.visualRect(panel.model.index(row, 0))
    emitted = []
    panel.node_activated.connect(emitted.append)
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(emitted) == 1 and emitted[0] in (a, b)
    for _ in range(4):
        doc.undo_stack.undo()
    assert panel.issues == []
