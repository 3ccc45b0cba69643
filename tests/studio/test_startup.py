"""What runs before the first window paints: no torch, no networkx (imported at the first
validation of a graph with nodes), and an empty document still reports what it lacks."""
import subprocess
import sys
from pathlib import Path

from engine.graph import Graph
from engine.validate import Validator

ROOT = Path(__file__).resolve().parents[2]
FIRST_WINDOW = """
import sys
from PySide6.QtCore import QSettings
from studio.app import make_app
from studio.ui.main_window import MainWindow
app = make_app()
w = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat), lazy_panels=True)
w.show()
app.processEvents()
print(*(m in sys.modules for m in ("torch", "networkx")))
w.document.undo_stack.setClean()
"""


def test_the_first_window_paints_without_torch_or_networkx(tmp_path):
    done = subprocess.run([sys.executable, "-c", FIRST_WINDOW, str(tmp_path / "s.ini")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["False", "False"]


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
