"""The engine stays headless. Its import statements are checked by the architecture
contracts (tests/test_architecture.py: no Qt or pyqtgraph anywhere under engine/); this
checks what importing it loads at run time."""
import subprocess
import sys


def test_importing_engine_loads_neither_qt_nor_torch():
    code = ("import sys, engine, engine.cli; engine.cli.build_parser(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'pyqtgraph', 'torch')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
