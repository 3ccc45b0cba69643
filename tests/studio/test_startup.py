"""What runs before the first window paints: no torch, numpy, pyqtgraph or networkx (the
document, the canvas's training insight, the panels and torch come after it), and an empty
document still reports what it lacks."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.examples import example_path
from engine.graph import Graph
from engine.project import load_project
from engine.validate import Validator

ROOT = Path(__file__).resolve().parents[2]
# `studio [FILE]` as the command runs it (studio.app.run_app), watched: what is imported when
# the main window first paints, then (polled) the document on the canvas, the panels built and
# torch imported; then it quits.
RUN_APP = """
import sys, threading
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
from studio import app as studio_app
from studio.ui.main_window import MainWindow

at_paint = {}
DEFERRED = ("torch", "numpy", "pyqtgraph", "networkx")
imported_on = {}   # a heavy module -> the thread that imported it

class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name in DEFERRED + ("scipy", "sklearn"):
            imported_on.setdefault(name, threading.current_thread().name)
        return None

sys.meta_path.insert(0, Recorder())

class Watch(QObject):
    def eventFilter(self, obj, event):
        if not at_paint and event.type() == QEvent.Type.Paint and isinstance(obj, MainWindow):
            at_paint.update({m: m in sys.modules for m in DEFERRED},
                            nodes=len(obj.scene.nodes), panels=obj._panels_loaded,
                            insight=obj.live is not None,
                            palette=type(obj.panels["palette"]).__name__)
        return False

def poll():
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    torch_ready = "torch" in sys.modules and not any(
        t.name == "torch-import" for t in threading.enumerate())
    if at_paint and window._panels_loaded and window.scene.nodes and torch_ready:
        print(at_paint)
        print({"nodes": len(window.scene.nodes), "path": str(window.document.path),
               "training": type(window.panels["training"]).__name__,
               "sweep": type(window.panels["sweep"]).__name__,
               "insight": window.live is not None and window.unit_heatmaps is not None,
               "unit_menu": any(a.text() == "What Activates a Unit…"
                                for a in window.menuBar().actions()[4].menu().actions()),
               "numpy": "numpy" in sys.modules, "imported_on": imported_on,
               "steps": [name for name, _cpu in window.after_paint.timings]})
        window.document.undo_stack.setClean()
        app.quit()
        return
    QTimer.singleShot(20, poll)

app = studio_app.make_app()
watch = Watch()
app.installEventFilter(watch)
QTimer.singleShot(0, poll)
sys.exit(studio_app.run_app(sys.argv[1] if len(sys.argv) > 1 else None))
"""


@pytest.mark.parametrize("example", [None, "xor_mlp"])
def test_the_window_paints_before_torch_numpy_and_the_document_load(tmp_path, example):
    """`studio` and `studio FILE`: the first paint shows the window with its palette and an
    empty canvas, before torch, numpy, pyqtgraph and networkx are imported; then the
    document, the training insight on the canvas (and its Model menu entry), the panels and
    torch follow (the app waits for them before it quits): the heavy modules imported on
    threads, the big panels built in parts."""
    args = [str(example_path(example))] if example else []
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", RUN_APP, *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600, check=False, env=env)
    assert done.returncode == 0, done.stderr
    at_paint, after = (ast.literal_eval(line) for line in done.stdout.splitlines()[-2:])
    assert at_paint == {"torch": False, "numpy": False, "pyqtgraph": False, "networkx": False,
                        "nodes": 0, "panels": False, "insight": False,
                        "palette": "PaletteWidget"}
    assert after["nodes"] == len(load_project(example_path(example or "digits_cnn")).graph.nodes)
    assert after["training"] == "TrainingPanel"
    assert after["insight"] and after["unit_menu"] and after["numpy"]
    assert after["path"] == (args[0] if example else "None")
    # after the paint, the GUI thread imports none of the heavy modules (each is one long
    # event-loop turn, or a wait on the import lock of a thread importing it) ...
    assert after["imported_on"].keys() >= {"torch", "numpy", "pyqtgraph", "networkx"}
    assert "MainThread" not in after["imported_on"].values(), after["imported_on"]
    # ... builds the training panel in parts, one per event-loop turn, and leaves the sweep
    # panel, behind its tab, until that tab is opened
    parts = [s for s in after["steps"] if s.startswith("build the training panel: ")]
    names = [p.split(": ")[1] for p in parts]
    assert names[names.index("frame"):][:4] == ["frame", "dataset", "settings, run",
                                                "settings, optimizer"]
    assert after["sweep"] == "QLabel", after["steps"]


def test_an_empty_graph_reports_what_it_lacks_then_a_node_is_sorted():
    g = Graph()
    v = Validator(g)
    report = v.validate()
    assert {i.kind for i in report.graph_issues} == {"no_input", "no_output"}
    assert report.order == []
    node = g.add_node("io.Input", {"shape": [3]}, name="x")
    report = v.validate()
    assert report.order == [node.id]
    g.set_param(node.id, "shape", [4])
    assert str(v.validate().out_types[node.id][0]) == "N×4"


def test_heatmaps_switched_off_before_the_insight_is_built_stay_off(qtbot, tmp_path):
    """View > Unit Heatmaps unticked while the window is still loading (lazy panels): the
    unit heatmaps built after it start switched off, and the menu entry drives them."""
    from PySide6.QtCore import QSettings

    from studio.document import Document
    from studio.ui.main_window import MainWindow

    from .helpers import dispose

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    try:
        assert win.unit_heatmaps is None and win.live is None
        win.act["unit_heatmaps"].setChecked(False)   # nothing to switch yet: no error
        win.load_panels(())
        assert win.live is not None and not win.unit_heatmaps.enabled
        win.act["unit_heatmaps"].setChecked(True)
        assert win.unit_heatmaps.enabled
        labels = [a.text() for a in win.model_menu.actions()]
        assert labels.count(win.unit_menu.LABEL) == 1
    finally:
        dispose(win)


def test_panels_built_in_parts_show_their_contents_when_their_tab_is(qtbot, tmp_path):
    """The start-up builds the training panel one part per event-loop turn, in its dock, and
    shows it at once when its tab is in front; the sweep panel, behind another tab, is built
    (in parts too) only when its tab is opened, and shows then; going back to the training
    tab shows that one again (Qt counts a dock behind a tab as visible)."""
    from PySide6.QtCore import QSettings

    from studio.document import Document
    from studio.ui.main_window import MainWindow

    from .helpers import dispose

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    try:
        win.resize(1360, 850)
        win.show()
        win.docks["training"].raise_()
        qtbot.waitUntil(lambda: win._panels_loaded, timeout=120_000)
        training = win.panels["training"]
        assert type(training).__name__ == "TrainingPanel"
        assert type(win.panels["sweep"]).__name__ == "QLabel"   # its placeholder
        parts = [name for name, _cpu in win.after_paint.timings if ": " in name]
        assert sum(p.startswith("build the training panel: ") for p in parts) >= 7
        assert not any(p.startswith("build the sweep panel") for p in parts)
        qtbot.waitUntil(training.train_button.isVisible, timeout=10_000)
        win.docks["sweep"].raise_()
        qtbot.waitUntil(lambda: type(win.panels["sweep"]).__name__ == "SweepPanel",
                        timeout=60_000)
        sweep = win.panels["sweep"]
        qtbot.waitUntil(sweep.run_button.isVisible, timeout=10_000)
        assert sweep.table.isVisible()
        parts = [name for name, _cpu in win.after_paint.timings if ": " in name]
        assert sum(p.startswith("build the sweep panel (its tab opened): ")
                   for p in parts) >= 4
        assert win.docks["sweep"].widget() is sweep
        win.docks["training"].raise_()
        qtbot.waitUntil(training.train_button.isVisible, timeout=10_000)
    finally:
        training = win.panels.get("training")
        if callable(getattr(training, "shutdown", None)):
            training.shutdown()
        dispose(win)


def test_the_cheaper_pyside_import_check_answers_as_pysides_own(tmp_path, monkeypatch):
    """PySide6 checks each imported module's source for "PySide6"; the app's cheaper check
    (the file read directly) gives the same answers: a module using PySide6, one that does
    not, a compiled one and a built-in one."""
    import importlib.util
    import inspect
    import json

    import numpy._core._multiarray_umath as compiled
    import PySide6.QtCore  # noqa: F401  (installs PySide6's import hook)

    from studio.app_imports import _mentions_pyside, cheaper_pyside_import_check

    def pysides_own(module) -> bool:
        try:
            return "PySide6" in inspect.getsource(module)
        except (TypeError, OSError, SyntaxError):
            return False

    path = tmp_path / "uses_qt.py"
    path.write_text("# drawn with PySide6\nVALUE = 1\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("uses_qt", path)
    uses_qt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(uses_qt)
    from studio.ui import theme

    for module in (uses_qt, theme, json, compiled, sys):
        assert _mentions_pyside(module) == pysides_own(module), module
    assert _mentions_pyside(theme) and not _mentions_pyside(json)
    feature = sys.modules["shibokensupport.feature"]
    monkeypatch.setattr(feature, "_mod_uses_pyside", feature._mod_uses_pyside)
    assert cheaper_pyside_import_check() and feature._mod_uses_pyside is _mentions_pyside


QUIT_EARLY = """
import sys, threading
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from studio import app as studio_app
from studio.ui.main_window import MainWindow

def close_while_importing():
    names = {t.name for t in threading.enumerate()}
    if "torch-import" not in names:
        QTimer.singleShot(5, close_while_importing)
        return
    print("closed while importing:", sorted(n for n in names if "import" in n))
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    window.document.undo_stack.setClean()
    window.close()

app = studio_app.make_app()
QTimer.singleShot(0, close_while_importing)
code = studio_app.run_app(None)
alive = [t.name for t in threading.enumerate() if t.name in ("torch-import",
                                                             "background-imports")]
print("alive after run_app:", alive)
sys.exit(code)
"""


def test_quitting_while_torch_imports_waits_for_the_import_threads(tmp_path):
    """Closing the window while torch is imported on its thread: `run_app` returns only once
    the start-up's import threads are done, so the interpreter never shuts down under a
    thread inside torch's C++ initialisation (that aborted the process at exit)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", QUIT_EARLY], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, check=False, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "closed while importing: " in done.stdout and "torch-import" in done.stdout
    assert "alive after run_app: []" in done.stdout, done.stdout
    assert "terminate called" not in done.stderr
