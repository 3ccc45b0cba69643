"""Save and Save As run off the GUI thread (studio.saving) in a real window: the file holds
the project as it was when Save was chosen, an edit made meanwhile leaves the document
modified, a second save is refused with a sentence, quitting waits for the save, a failure
(read-only folder, disk full) is one sentence naming the file with nothing lost, and the
weights saved read back bit for bit."""
from __future__ import annotations

import errno
import json
import os
import threading

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

import studio.saving
from engine.project import load_project
from studio.commands import SetParamCommand

from ..engine.helpers import example_pair
from .helpers import main_window

WAIT_MS = 60_000


@pytest.fixture
def trained(tmp_path):
    """digits_mlp saved as a pair with random weights."""
    return example_pair(tmp_path / "mlp.nnproj")


@pytest.fixture
def gate(monkeypatch):
    """The background save waits at its start until `gate.set()` (so a test can act while
    it runs); `gate.entered` is set once it waits."""
    real, event = studio.saving.save_project, threading.Event()
    event.entered = threading.Event()

    def gated(*args, **kwargs):
        event.entered.set()
        assert event.wait(WAIT_MS / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(studio.saving, "save_project", gated)
    yield event
    event.set()


@pytest.fixture
def errors(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical",
                        lambda _p, _t, text, *a, **k: shown.append(text))
    return shown


def _first_linear(doc) -> str:
    return next(n for n, node in doc.graph.nodes.items() if node.type == "core.Linear")


def _edit_weights(doc, scale: float) -> dict:
    """New weights for the whole model (as a run's end gives them), as an undoable edit."""
    weights = {nid: {k: np.asarray(v) * scale + 1.5 for k, v in t.items()}
               for nid, t in load_project(doc.path).graph.weights.items()}
    assert doc.set_weights(weights, "Use the trained weights")
    return weights


def test_an_edit_during_the_save_stays_out_of_the_file_and_leaves_it_modified(
        qtbot, tmp_path, monkeypatch, trained, gate, errors):
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc, nid = win.document, _first_linear(win.document)
        weights = _edit_weights(doc, 2.0)
        assert win.save()                                   # started, not finished
        qtbot.waitUntil(gate.entered.is_set, timeout=WAIT_MS)
        assert doc.saver.busy and win.weights_progress.isVisible()
        assert win.weights_progress.label.text().startswith("Saving mlp.nnproj")
        doc.push(SetParamCommand(doc.graph, nid, "out_features", 17))   # during the save
        assert not win.save()                               # a second save: refused, said
        assert "Still saving mlp.nnproj" in win.statusBar().currentMessage()
        gate.set()
        qtbot.waitUntil(lambda: not doc.saver.busy, timeout=WAIT_MS)
        assert not win.weights_progress.isVisible() and errors == []
        saved = load_project(trained)
        assert saved.graph.nodes[nid].params["out_features"] != 17   # the edit is not in it
        for n, tensors in weights.items():                          # the weights are
            for k, arr in tensors.items():
                assert np.array_equal(saved.graph.weights[n][k], arr)
        assert doc.modified and win.windowTitle().startswith("mlp*")
        doc.undo_stack.undo()     # back to the saved state: still marked modified (safe side)
        assert doc.modified
        assert win.save(wait=True) and not doc.modified
        assert load_project(trained).graph.nodes[nid].params == doc.graph.nodes[nid].params
        qtbot.wait(200)


def test_save_then_open_gives_the_weights_back_bit_for_bit(
        qtbot, tmp_path, monkeypatch, trained, errors):
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc = win.document
        weights = _edit_weights(doc, -0.37)
        weights[_first_linear(doc)]["bias"][0] = np.float32(np.nan)   # even a NaN's bits
        copy = tmp_path / "elsewhere" / "copy.nnproj"
        copy.parent.mkdir()
        assert win._save_to(copy)                          # Save As, in the background
        qtbot.waitUntil(lambda: not doc.saver.busy, timeout=WAIT_MS)
        assert errors == [] and not doc.modified and doc.path == copy
        assert win.windowTitle().startswith("copy —")
        assert win.open_file(copy, ask_unsaved=False)
        back = win.document.graph.weights
        assert set(back) == set(weights)
        for nid, tensors in weights.items():
            for key, arr in tensors.items():
                got = np.asarray(back[nid][key])
                assert got.dtype == arr.dtype and got.shape == arr.shape
                assert got.tobytes() == np.ascontiguousarray(arr).tobytes()
        qtbot.wait(200)   # the open's deferred view calls run before the window is freed


def test_quitting_during_a_save_waits_for_it(qtbot, tmp_path, monkeypatch, trained, gate,
                                             errors):
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(trained, ask_unsaved=False)
        doc = win.document
        weights = _edit_weights(doc, 3.0)
        qtbot.wait(200)   # the open's deferred view calls run before the window closes
        assert win.save()
        qtbot.waitUntil(gate.entered.is_set, timeout=WAIT_MS)
        threading.Timer(0.2, gate.set).start()   # the save goes on while the window closes
        assert win.close()                        # waited: saved, so nothing to ask
        assert not doc.saver.busy and errors == [] and not doc.modified
        saved = load_project(trained).graph.weights
        nid = next(iter(weights))
        assert all(np.array_equal(saved[nid][k], v) for k, v in weights[nid].items())


def _read_only(folder, monkeypatch) -> None:
    """Make `folder` read-only. As root (which may write anyway) the kernel's refusal is
    played by os.open, the call the atomic write makes first."""
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        real = os.open

        def refused(path, flags, *a, **k):
            if str(path).startswith(str(folder)) and flags & os.O_CREAT:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real(path, flags, *a, **k)
        monkeypatch.setattr("engine.atomic.os.open", refused)


@pytest.mark.parametrize("problem", ["read-only folder", "disk full"])
def test_a_failed_save_says_so_and_loses_nothing(qtbot, tmp_path, monkeypatch, trained,
                                                 errors, problem):
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / trained.name
    for p in (trained, trained.with_suffix(".safetensors")):
        os.replace(p, folder / p.name)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with main_window(qtbot, tmp_path, monkeypatch, panels=()) as win:
        assert win.open_file(path, ask_unsaved=False)
        doc = win.document
        weights = _edit_weights(doc, 5.0)
        if problem == "read-only folder":
            _read_only(folder, monkeypatch)
        else:
            real = open

            class Full:   # the disk is full: the first block of the weights fails
                def __init__(self, f):
                    self.f, self.written = f, 0

                def write(self, block):
                    self.written += len(block)
                    if self.written > 64:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    return self.f.write(block)

                def writelines(self, blocks):
                    for block in blocks:
                        self.write(block)

                def __getattr__(self, name):
                    return getattr(self.f, name)

                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    return self.f.__exit__(*exc)

            monkeypatch.setattr("engine.atomic.open", lambda *a, **k: Full(real(*a, **k)),
                                raising=False)   # the atomic write's own file
        try:
            assert win.save()
            qtbot.waitUntil(lambda: not doc.saver.busy, timeout=WAIT_MS)
        finally:
            folder.chmod(0o755)
        assert len(errors) == 1 and str(path) in errors[0] and "\n" not in errors[0]
        assert ("Permission denied" if problem == "read-only folder"
                else "No space left") in errors[0]
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before   # old pair, no temp
        assert doc.modified and doc.path == path and doc.graph.weights is not None
        nid = next(iter(weights))
        assert all(np.array_equal(doc.graph.weights[nid][k], v) for k, v in weights[nid].items())
        assert json.loads(path.read_text())["weights"] == \
            json.loads(before[path.name])["weights"]
        qtbot.wait(200)
