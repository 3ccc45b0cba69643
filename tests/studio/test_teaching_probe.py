"""Probe a wire from the canvas (pytest-qt, main window): right-click a wire -> Probe…; the
dialog's statistics equal the tensor PyTorch computes on the same samples; Export writes it."""
import numpy as np
import pytest
import torch
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication

from engine.examples import example_path
from engine.insight import build_model
from studio.ui.teaching.probe_dialog import ProbeDialog, probe_inputs

from .helpers import main_window

WAIT_MS = 120_000


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    with main_window(qtbot, tmp_path, monkeypatch, ()) as w:
        w.open_file(example_path("digits_cnn"))
        yield w


def _edge(doc, src_name):
    return next(e for e in doc.graph.edges if doc.graph.nodes[e.src].name == src_name)


def _expected(doc, node_name):
    """The node's output on the probe's samples, straight from PyTorch's forward hooks."""
    project = doc.project
    x, _ = probe_inputs(project)
    torch.manual_seed(int(project.training.get("seed", 0) or 0))
    model = build_model(project.graph, project.graph.weights or None)
    nid = next(n.id for n in doc.graph.nodes.values() if n.name == node_name)
    module = getattr(model, model.studio_code.attrs[nid])
    got = {}
    module.register_forward_hook(lambda m, i, o: got.__setitem__("out", o.detach().numpy()))
    model.eval()
    with torch.no_grad():
        model(torch.as_tensor(x))
    return got["out"]


def test_right_click_a_wire_and_probe_it(qtbot, win, monkeypatch, tmp_path):
    doc = win.document
    edge = _edge(doc, "relu1")                          # relu1 -> pool1: dead ReLUs show
    item = win.scene.edges[edge]
    win.view.centerOn(item.label)
    pos = win.view.mapFromScene(item.label.sceneBoundingRect().center())
    opened = []
    monkeypatch.setattr(win.probe_menu, "show_menu", lambda menu, _pos: (
        opened.append(menu), menu.actions()[0].trigger()))
    QApplication.sendEvent(win.view.viewport(), QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, pos, win.view.viewport().mapToGlobal(pos)))
    assert opened and opened[0].actions()[0].text() == "Probe…"
    dialog: ProbeDialog = win.probe_menu.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.tensor is not None, timeout=WAIT_MS)
    want = _expected(doc, "relu1")
    np.testing.assert_allclose(dialog.tensor, want, rtol=1e-5, atol=1e-6)
    s = dialog.stats
    assert s.shape == want.shape == (64, 16, 8, 8)
    assert s.minimum == float(want.min()) == 0.0 and s.maximum == float(want.max())
    assert np.isclose(s.mean, want.astype(np.float64).mean())
    assert s.zeros == float((want == 0).mean()) and 0 < s.zeros < 1
    assert dialog.values["zeros"].text() == f"{100 * s.zeros:.1f} %"
    assert dialog.values["shape"].text() == "64 × 16 × 8 × 8"
    assert int(s.counts.sum()) == want.size
    assert dialog.heat.image is not None and dialog.heat.image.shape == (35, 35)  # 4x4 tiles
    dialog.sample.setValue(3)
    assert "sample 3" in dialog.heat_plot.plotItem.titleLabel.text
    out = tmp_path / "relu1.npy"
    assert dialog.export(str(out))
    np.testing.assert_array_equal(np.load(out, allow_pickle=False), want)
    dialog.close()


def test_probe_a_dense_wire_after_a_layer_without_a_module(qtbot, win):
    doc = win.document
    dialog = win.probe_menu.probe(_edge(doc, "flatten"))
    qtbot.waitUntil(lambda: dialog.tensor is not None, timeout=WAIT_MS)
    want = _expected(doc, "relu2").reshape(64, -1)
    np.testing.assert_allclose(dialog.tensor, want, rtol=1e-5, atol=1e-6)
    assert dialog.stats.shape == (64, 512) and not dialog.sample.isEnabled()
    assert dialog.heat.image.shape == (512, 64)          # samples × units, transposed for x/y
    dialog.close()
