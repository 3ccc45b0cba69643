"""The engine must stay headless: no Qt anywhere under engine/, and importing it pulls no Qt."""
import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "studio")


def test_no_qt_import_statements_in_engine():
    offenders = []
    for path in ENGINE.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ENGINE.parent)}:{node.lineno} {n}"
                          for n in names if n.split(".")[0] in QT_MODULES]
    assert offenders == []


def test_importing_engine_loads_neither_qt_nor_torch():
    code = ("import sys, engine, engine.cli; engine.cli.build_parser(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'pyqtgraph', 'torch')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
