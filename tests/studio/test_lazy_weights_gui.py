"""The app opens a project's weights lazily (engine.weights_lazy): nothing reads them at open;
Train, Export and Save read them on first use, and a weights file damaged, replaced or
removed after the project was opened stops only that action, with one sentence naming the
file, the document unchanged."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from engine.compile import compile_graph
from engine.project import load_project, previous_weights_path, save_weights
from engine.weights_lazy import LazyWeights
from studio.commands import RenameCommand
from studio.ui.dialogs.export import ExportDialog

from ..engine.helpers import example_pair
from .helpers import main_window

WAIT_MS = 120_000   # generous: under load the trainer thread's first torch import is slow


@pytest.fixture
def trained(tmp_path):
    """digits_mlp saved with random weights as a pair; the next run starts from them. (Not
    a 2-D model: the decision-boundary views would run it, reading its weights, at open.)"""
    return example_pair(tmp_path / "mlp.nnproj", seed=5, epochs=1, start_from="weights")


def settle(qtbot) -> None:
    """Let the window's deferred calls run before it is freed."""
    qtbot.wait(200)


def assert_same_weights(a, b) -> None:
    assert set(a) == set(b)
    for nid, tensors in b.items():
        assert set(a[nid]) == set(tensors)
        for key, arr in tensors.items():
            np.testing.assert_array_equal(np.asarray(a[nid][key]), np.asarray(arr))


def test_the_app_opens_without_reading_the_weights_and_export_reads_them(
        qtbot, tmp_path, monkeypatch, trained):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k:
                        warnings.append(text) or QMessageBox.StandardButton.Ok)
    with main_window(qtbot, tmp_path, monkeypatch) as win:   # every panel built
        assert win.open_file(trained, ask_unsaved=False)
        weights = win.document.graph.weights
        qtbot.wait(300)   # the panels' refreshes after the open have run
        assert isinstance(weights, LazyWeights) and weights.source.reads == 0
        nid = next(n for n in win.document.graph.nodes if n in load_project(trained).graph.weights)
        win.scene.clearSelection()
        win.document.set_selection([nid])
        win.act["delete"].trigger()            # an edit around a node reads nothing either
        assert nid not in win.document.graph.nodes
        win.document.undo_stack.undo()
        assert weights.source.reads == 0

        dialog = ExportDialog(win)
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("torchscript"))
        out = tmp_path / "mlp.pt"
        dialog.path_edit.setText(str(out))
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        dialog.wait()   # the export ran on a daemon thread
        assert warnings == [] and weights.source.reads == 1
        x = torch.randn(7, 64)
        eager = compile_graph(load_project(trained).graph).eval()
        exported = torch.jit.load(str(out)).eval()
        with torch.no_grad():
            torch.testing.assert_close(exported(x), eager(x))
        assert_same_weights(weights, load_project(trained).graph.weights)
        assert not win.document.modified
        settle(qtbot)


def _replace(path):
    other = {nid: {k: v + 1 for k, v in t.items()}
             for nid, t in load_project(path.with_suffix(".nnproj")).graph.weights.items()}
    save_weights(path, other)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


@pytest.mark.parametrize("damage, problem", [
    (_replace, "does not belong to the project"),
    (_truncate, "not valid safetensors"),
    (lambda p: p.unlink(), "cannot read the weights file"),
])
def test_train_with_weights_damaged_after_open_says_so_and_keeps_the_document(
        qtbot, tmp_path, monkeypatch, trained, damage, problem):
    with main_window(qtbot, tmp_path, monkeypatch, panels=("training",)) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc, panel = win.document, win.panels["training"]
        weights, before = doc.graph.weights, doc.to_json()
        wfile = trained.with_suffix(".safetensors")
        kept = wfile.read_bytes()
        damage(wfile)
        assert panel.start()
        qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)
        shown = panel.error.text.text()
        assert panel.error.isVisible() and "mlp.safetensors" in shown and problem in shown
        assert "\n" not in shown and "ProjectError" not in shown
        assert doc.graph.weights is weights and not weights.loaded
        assert doc.to_json() == before and not doc.modified
        assert doc.undo_stack.count() == 0
        if damage is not _replace:
            settle(qtbot)
            return
        wfile.write_bytes(kept)        # the file put back: the same document trains
        assert panel.start()
        qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)
        assert not panel.error.isVisible()
        assert weights.source.read and doc.graph.weights is not weights   # the run's weights
        qtbot.waitUntil(lambda: panel.views._insight_call is None, timeout=WAIT_MS)
        settle(qtbot)


def test_save_as_and_save_of_a_lazily_opened_project_carry_its_weights(
        qtbot, tmp_path, monkeypatch, trained):
    original = load_project(trained).graph.weights
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        assert not win.document.graph.weights.loaded
        copy = tmp_path / "elsewhere" / "copy.nnproj"
        copy.parent.mkdir()
        assert win._save_to(copy, wait=True)       # what Save As does once a name is chosen
        assert win.document.graph.weights.source.reads == 0     # the file's bytes copied
        assert copy.with_suffix(".safetensors").read_bytes() == \
            trained.with_suffix(".safetensors").read_bytes()
        assert_same_weights(load_project(copy).graph.weights, original)
        assert_same_weights(load_project(trained).graph.weights, original)

        wfile = trained.with_suffix(".safetensors")
        assert win.open_file(trained, ask_unsaved=False)
        weights, before = win.document.graph.weights, wfile.stat()
        win.document.push(RenameCommand(win.document.graph, next(iter(win.document.graph.nodes)),
                                        "renamed"))
        assert win.save(wait=True)      # over itself, weights untouched: the file is only checked
        assert weights.source.reads == 0 and wfile.stat().st_mtime_ns == before.st_mtime_ns
        saved = load_project(trained)
        assert "renamed" in {n.name for n in saved.graph.nodes.values()}
        assert_same_weights(saved.graph.weights, original)
        assert not previous_weights_path(wfile).exists()

        nid = next(iter(original))
        weights[nid] = {k: v * 0 for k, v in original[nid].items()}   # edited: read, written
        assert win.save(wait=True)
        assert weights.source.reads == 1
        assert_same_weights(load_project(trained).graph.weights, {**original, nid: weights[nid]})
        assert previous_weights_path(wfile).exists()    # the replaced weights are kept
        settle(qtbot)


def test_saving_when_the_weights_file_was_removed_asks_first(
        qtbot, tmp_path, monkeypatch, trained):
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc = win.document
        trained.with_suffix(".safetensors").unlink()
        saved_text = trained.read_text()
        asked = []

        def answer(choice):
            def question(_parent, _title, text, *a, **k):
                asked.append(text)
                return choice
            monkeypatch.setattr(QMessageBox, "question", question)

        answer(QMessageBox.StandardButton.Cancel)
        assert not win.save(wait=True)
        assert "mlp.safetensors" in asked[0] and "cannot read the weights file" in asked[0]
        assert trained.read_text() == saved_text and not doc.modified   # nothing written

        answer(QMessageBox.StandardButton.Save)
        assert win.save(wait=True)
        assert load_project(trained).graph.weights == {} and not doc.modified
        doc.undo_stack.undo()               # the weights (their file) come back into the model
        assert isinstance(doc.graph.weights, LazyWeights) and doc.modified
        settle(qtbot)
