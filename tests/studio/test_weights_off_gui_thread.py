"""Edits and exports that need a lazily opened project's weights read them off the GUI thread
(studio.weights_reader): the event loop runs while the read is held back, the result equals an
eager load, a second such action waits its turn (refused), a damaged file is one sentence
naming it with the document unchanged, and a project opened afterwards keeps nothing of the
first."""
from __future__ import annotations

import gc
import threading
import weakref

import torch
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from engine.compile import compile_graph
from engine.examples import copy_example
from engine.project import load_project
from studio.ui.dialogs.export import ExportDialog
from studio.weights_reader import WeightsReader

from .helpers import main_window
from .test_lazy_weights_gui import WAIT_MS, settle, trained  # noqa: F401 (a fixture)


def hold_read(weights):
    """Make the lazy file's read wait for the returned event (a slow disk)."""
    gate = threading.Event()
    source = weights.source
    read = source._read

    def slowed(*args, **kw):
        assert gate.wait(WAIT_MS / 1000)
        return read(*args, **kw)

    source._read = slowed
    return gate


def outputs(graph, seed=0):
    torch.manual_seed(seed)
    x = torch.randn(5, 64)
    with torch.no_grad():
        return compile_graph(graph).eval()(x)


def test_make_block_reads_off_the_gui_thread_and_equals_an_eager_load(
        qtbot, tmp_path, monkeypatch, trained):  # noqa: F811
    shown = []
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc = win.document
        win.blocks.status_message.connect(shown.append)
        weights, before = doc.graph.weights, doc.to_json()
        gate = hold_read(weights)
        win.scene.select_ids(["n2", "n3"])
        assert win.blocks.make_block("Hidden") is None     # under way: the read is held
        assert doc.weights_reader.busy and doc.to_json() == before
        assert win.weights_progress.isVisible()
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start(5)
        qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=WAIT_MS)   # the event loop runs
        timer.stop()
        win.scene.select_ids(["n4", "n5"])
        assert win.blocks.make_block("Other") is None      # a second one waits its turn
        assert shown[-1].endswith(WeightsReader.BUSY)
        gate.set()
        qtbot.waitUntil(lambda: not doc.weights_reader.busy, timeout=WAIT_MS)
        assert not win.weights_progress.isVisible()
        assert "Hidden" in doc.graph.blocks and "Other" not in doc.graph.blocks
        assert weights.source.reads == 1
        torch.testing.assert_close(outputs(doc.graph), outputs(load_project(trained).graph))
        doc.undo_stack.undo()
        assert doc.to_json() == before
        torch.testing.assert_close(outputs(doc.graph), outputs(load_project(trained).graph))
        settle(qtbot)


def test_replace_head_of_a_plain_layer_reads_nothing_and_undo_brings_it_back(
        qtbot, tmp_path, monkeypatch, trained):  # noqa: F811
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc = win.document
        weights = doc.graph.weights
        assert win.transfer.replace_head(4) is True
        assert weights.source.reads == 0 and doc.graph.nodes["n6"].params["out_features"] == 4
        assert "n6" not in doc.graph.weights and "n4" in doc.graph.weights   # now read
        torch.manual_seed(1)
        model = compile_graph(doc.graph)     # the new head random, the rest as saved
        eager = load_project(trained).graph.weights
        torch.testing.assert_close(model.get_submodule("fc2").weight.detach(),
                                   torch.as_tensor(eager["n4"]["weight"]))
        doc.undo_stack.undo()
        assert doc.graph.weights is weights
        torch.testing.assert_close(outputs(doc.graph), outputs(load_project(trained).graph))
        settle(qtbot)


def test_a_damaged_weights_file_is_one_sentence_and_the_document_is_unchanged(
        qtbot, tmp_path, monkeypatch, trained):  # noqa: F811
    shown = []
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc = win.document
        win.blocks.status_message.connect(shown.append)
        before = doc.to_json()
        wfile = trained.with_suffix(".safetensors")
        wfile.write_bytes(wfile.read_bytes()[:-100])
        win.scene.select_ids(["n2", "n3"])
        win.blocks.make_block("Hidden")
        qtbot.waitUntil(lambda: not doc.weights_reader.busy, timeout=WAIT_MS)
        text = shown[-1]
        assert text.startswith("Cannot make a block:") and "mlp.safetensors" in text
        assert "not valid safetensors" in text and "\n" not in text and "Error" not in text
        assert doc.to_json() == before and doc.undo_stack.count() == 0 and not doc.modified
        assert not doc.graph.weights.loaded
        settle(qtbot)


def test_open_a_export_open_b_keeps_nothing_of_a(qtbot, tmp_path, monkeypatch, trained):  # noqa: F811
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k:
                        warnings.append(text) or QMessageBox.StandardButton.Ok)
    other = copy_example("digits_cnn", tmp_path / "b.nnproj")
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        source = weakref.ref(win.document.graph.weights.source)
        project = weakref.ref(win.document.project)
        dialog = ExportDialog(win)
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("weights"))
        dialog.path_edit.setText(str(tmp_path / "a.safetensors"))
        gate = hold_read(win.document.graph.weights)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        assert not dialog.buttons.isEnabled() and not dialog.progress.isHidden()
        dialog.reject()                       # closing waits for the export under way
        assert not dialog.buttons.isEnabled()   # still exporting, not closed
        gate.set()
        dialog.wait()
        assert warnings == [] and (tmp_path / "a.safetensors").stat().st_size > 0
        dialog.deleteLater()
        del dialog, gate
        assert win.open_file(other, ask_unsaved=False)
        qtbot.wait(100)
        gc.collect()
        assert source() is None and project() is None
        settle(qtbot)


def test_a_block_of_layers_without_tensors_reads_nothing(
        qtbot, tmp_path, monkeypatch, trained):  # noqa: F811
    """Make Block and Ungroup of layers that have no tensors in the weights file (its header
    says which do) run at once and read none of it; the model computes as before."""
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc = win.document
        weights = doc.graph.weights
        assert "n3" not in weights and "n2" in weights.source.nodes   # from the header only
        win.scene.select_ids(["n3"])
        instance = win.blocks.make_block("Act")
        assert instance is not None and not doc.weights_reader.busy    # made at once
        assert win.blocks.ungroup() and not doc.weights_reader.busy
        assert weights.source.reads == 0 and "Act" in doc.graph.blocks
        win.scene.select_ids(["n4", "n5"])            # a Linear's tensors move: read first
        assert win.blocks.make_block("Hidden") is None
        doc.weights_reader.wait()
        assert weights.source.reads == 1 and "Hidden" in doc.graph.blocks
        torch.testing.assert_close(outputs(doc.graph), outputs(load_project(trained).graph))
        settle(qtbot)
