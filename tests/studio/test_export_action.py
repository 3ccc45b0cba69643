"""File > Export… and File > Import Model…: the dialogs driven through their widgets."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QMessageBox

from engine.examples import example_path
from engine.train.checkpoint import save_checkpoint
from studio.document import Document
from studio.ui.dialogs.export import ExportDialog
from studio.ui.dialogs.import_model import ImportDialog
from studio.ui.main_window import MainWindow

NET = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.act = nn.ReLU()

    def forward(self, x):
        return {body}
"""


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    path = tmp_path / "mlp.nnproj"
    shutil.copyfile(example_path("digits_mlp"), path)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    w.open_file(path)
    yield w
    w.document.close()
    shiboken6.delete(w)


@pytest.fixture
def warnings(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k:
                        shown.append(text) or QMessageBox.StandardButton.Ok)
    return shown


def click_ok(dialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    if isinstance(dialog, ExportDialog):
        dialog.wait()   # the export runs on a daemon thread


def choose_format(dialog: ExportDialog, label: str) -> None:
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findText(label))


def test_file_menu_has_both_actions(win):
    file_menu = win.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert "&Export…" in texts and "&Import Model…" in texts
    assert win.act["export"].shortcut().toString() == "Ctrl+E"


def test_export_python_script(win, tmp_path, warnings):
    dialog = ExportDialog(win)
    choose_format(dialog, "Python script")
    out = tmp_path / "out" / "model.py"
    out.parent.mkdir()
    dialog.path_edit.setText(str(out))
    click_ok(dialog)
    assert warnings == []
    text = out.read_text("utf-8")
    compile(text, str(out), "exec")
    assert "nn.Linear" in text
    assert str(out) in win.statusBar().currentMessage()


def test_suffix_follows_format_and_browse(win, tmp_path, monkeypatch):
    dialog = ExportDialog(win)
    choose_format(dialog, "Python script")
    dialog.path_edit.setText(str(tmp_path / "net.py"))
    choose_format(dialog, "Weights (safetensors)")
    assert dialog.path_edit.text() == str(tmp_path / "net.safetensors")
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "chosen"), ""))
    dialog.browse_button.click()
    assert dialog.path_edit.text() == str(tmp_path / "chosen.safetensors")


def test_export_torchscript(win, tmp_path, warnings):
    dialog = ExportDialog(win)
    choose_format(dialog, "TorchScript")
    out = tmp_path / "model.pt"
    dialog.path_edit.setText(str(out))
    click_ok(dialog)
    assert warnings == []
    assert out.stat().st_size > 0


def test_export_run_weights(win, tmp_path, warnings):
    from engine.compile import compile_graph, node_state

    state = node_state(compile_graph(win.document.graph))
    weights = {nid: {k: v.detach().numpy() * 0 + 0.5 for k, v in t.items()}
               for nid, t in state.items()}
    run_dir = win.document.project.runs_dir() / "run-1"
    run_dir.mkdir(parents=True)
    save_checkpoint(run_dir, "best", weights, {"epoch": 1})
    dialog = ExportDialog(win)
    assert dialog.weights_combo.isEnabled()
    dialog.weights_combo.setCurrentIndex(dialog.weights_combo.findData("run-1"))
    choose_format(dialog, "Weights (safetensors)")
    out = tmp_path / "w.safetensors"
    dialog.path_edit.setText(str(out))
    click_ok(dialog)
    assert warnings == []
    from safetensors.numpy import load_file

    tensors = load_file(str(out))
    assert tensors and all((t == 0.5).all() for t in tensors.values())


def test_unsaved_project_cannot_pick_a_run(win):
    win.document.new()
    dialog = ExportDialog(win)
    assert not dialog.weights_combo.isEnabled()
    assert dialog.run_choice() is None


def test_export_broken_graph_warns_and_writes_nothing(win, tmp_path, warnings):
    graph = win.document.graph
    graph.disconnect(graph.edges[0])
    dialog = ExportDialog(win)
    choose_format(dialog, "Python script")
    out = tmp_path / "broken.py"
    dialog.path_edit.setText(str(out))
    click_ok(dialog)
    assert len(warnings) == 1 and warnings[0]
    assert not out.exists()
    assert dialog.result() == 0  # still open to fix the choice


def fill_import(dialog: ImportDialog, path: Path, cls="Net", shape="2,4") -> None:
    dialog.path_edit.setText(str(path))
    dialog.class_edit.setText(cls)
    dialog.shape_edit.setText(shape)
    dialog.dtype_combo.setCurrentIndex(dialog.dtype_combo.findData("float"))


def test_import_model_opens_untitled_document(win, tmp_path, warnings):
    src = tmp_path / "net.py"
    src.write_text(NET.format(body="self.act(self.fc(x))"), "utf-8")
    dialog = ImportDialog(win)
    fill_import(dialog, src)
    click_ok(dialog)
    assert warnings == []
    doc = win.document
    types = sorted(n.type for n in doc.graph.nodes.values())
    assert types == ["act.ReLU", "core.Linear", "io.Input", "io.Output"]
    assert doc.path is None and doc.modified
    assert doc.undo_stack.count() == 0
    assert doc.report().ok


@pytest.mark.parametrize("body, shape, reason", [
    ("torch.cumsum(self.fc(x), 1)", "2,4", "cumsum"),
    ("self.fc(x)", "2,four", "four"),
    ("self.fc(x) +", "2,4", "SyntaxError"),
])
def test_import_errors_leave_document_untouched(win, tmp_path, warnings, body, shape, reason):
    src = tmp_path / "bad.py"
    src.write_text(NET.format(body=body), "utf-8")
    before = win.document.graph
    dialog = ImportDialog(win)
    fill_import(dialog, src, shape=shape)
    click_ok(dialog)
    assert len(warnings) == 1 and reason in warnings[0]
    assert win.document.graph is before and not win.document.modified


def _onnx_file(path: Path) -> Path:
    import numpy as np
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((3, 4), np.float32), "fc.weight")
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "fc.weight"], ["y"], transB=1),
                               ], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                              [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_import_onnx_file_hides_class_and_shape(win, tmp_path, warnings):
    dialog = ImportDialog(win)
    assert dialog.form.isRowVisible(dialog.class_edit)
    dialog.path_edit.setText(str(_onnx_file(tmp_path / "m.onnx")))
    assert not dialog.form.isRowVisible(dialog.class_edit)
    assert not dialog.form.isRowVisible(dialog.shape_edit)
    assert "nothing in it is executed" in dialog.note.text()
    click_ok(dialog)
    assert warnings == []
    doc = win.document
    assert sorted(n.type for n in doc.graph.nodes.values()) == ["core.Linear", "io.Input",
                                                                 "io.Output"]
    assert doc.path is None and doc.modified and doc.graph.weights


def test_import_broken_model_file_warns_and_keeps_document(win, tmp_path, warnings):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    before = win.document.graph
    dialog = ImportDialog(win)
    dialog.path_edit.setText(str(bad))
    click_ok(dialog)
    assert len(warnings) == 1 and "broken.keras" in warnings[0]
    assert win.document.graph is before and not win.document.modified


def test_keras_then_onnx_import_journey_keeps_weights_through_save(win, tmp_path, warnings,
                                                                    monkeypatch):
    """Browse to a Keras .h5, import, save and reopen (weights beside the project, outputs
    equal to Keras); then import an ONNX file over it: the document is the new model."""
    import os

    import numpy as np
    import torch
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    if keras.backend.backend() != "torch":
        pytest.skip("needs KERAS_BACKEND=torch")
    from engine import load_project
    from engine.export.common import build_model

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"),
                              keras.layers.Dense(2, name="head")])
    h5 = tmp_path / "student.h5"
    model.save(h5)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(h5), ""))
    dialog = ImportDialog(win)
    dialog.browse_button.click()
    assert not dialog.form.isRowVisible(dialog.shape_edit)
    click_ok(dialog)
    assert warnings == []
    assert "head" in {n.name for n in win.document.graph.nodes.values()}
    saved = win.document.save_as(tmp_path / "student.nnproj")
    x = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")
    project = load_project(saved)
    net = build_model(project.graph, project.graph.weights).eval()
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    assert np.abs(got - model.predict(x, verbose=0)).max() < 1e-5

    dialog = ImportDialog(win)
    dialog.path_edit.setText(str(_onnx_file(tmp_path / "next.onnx")))
    click_ok(dialog)
    assert warnings == []
    assert "head" not in {n.name for n in win.document.graph.nodes.values()}
    assert win.document.path is None and win.document.modified
