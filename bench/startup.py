"""Start-up: time from launching `studio` (a fresh interpreter, as the command does) to the
main window's first paint, and to the default example shown on the canvas. Each round is a
new process; the wall time is measured from before the spawn, the CPU time is the whole
process's (interpreter start-up included), so a loaded machine shows in the wall figure and
hardly in the CPU one. Prints medians and spread over the rounds, and the modules imported
before the first paint that cost most (python -X importtime of one more round).
Run it on a display (e.g. an X server, QT_QPA_PLATFORM=xcb): the offscreen platform exposes
the window late (after the panels and torch have loaded), so there the first-paint figure
is not what a user sees.
Run: python -m bench.startup [--rounds 9]"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import print_table, write_json  # noqa: E402

# `studio` (studio.app.run_app, the code the command runs), watched: the main window's first
# paint, then the default example on its canvas (the app quits there).
CHILD = r"""
import json, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
from studio import app as studio_app
from studio.ui.main_window import MainWindow

times = {}

class FirstPaint(QObject):
    # The window's first paint is the first Paint event to it or to its QWindow (which
    # paints the widgets; it follows the window's first Expose). It is timed when it is
    # done: at the next event the
    # application delivers (the app's own start-up code handles the paint inside its own
    # filter, so this one must not).
    started = False

    def eventFilter(self, obj, event):
        if "paint" in times:
            return False
        if self.started:
            times["paint"] = (time.time(), time.process_time(), "torch" in sys.modules,
                              "pyqtgraph" in sys.modules)
        elif event.type() == QEvent.Type.Paint and (
                isinstance(obj, MainWindow) or any(
                    obj is w.windowHandle() for w in QApplication.topLevelWidgets()
                    if isinstance(w, MainWindow))):
            self.started = True
        return False

def example_shown():
    app = QApplication.instance()
    windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow)]
    if not windows or not windows[0].scene.nodes or "paint" not in times:
        QTimer.singleShot(2, example_shown)
        return
    windows[0].view.viewport().repaint()
    times["example"] = (time.time(), time.process_time())
    windows[0].document.undo_stack.setClean()
    app.quit()

app = studio_app.make_app()
watch = FirstPaint()
app.installEventFilter(watch)
QTimer.singleShot(0, example_shown)
studio_app.run_app(None)
paint, example = times["paint"], times["example"]
print(json.dumps({"paint_epoch": paint[0], "paint_cpu": paint[1], "torch": paint[2],
                  "pyqtgraph": paint[3], "example_epoch": example[0],
                  "example_cpu": example[1]}))
"""


def one_round(settings_dir: Path, importtime: bool = False) -> dict:
    env = dict(os.environ, XDG_CONFIG_HOME=str(settings_dir), PYTHONPATH=str(ROOT))
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", CHILD]
    t0 = time.time()
    res = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=180, check=False)
    if res.returncode != 0:
        raise SystemExit(res.stderr[-2000:])
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["paint_s"] = out["paint_epoch"] - t0
    out["example_s"] = out["example_epoch"] - t0
    out["stderr"] = res.stderr if importtime else ""
    return out


def top_imports(stderr: str, n: int = 12) -> list[dict]:
    """The top-level imports with the largest cumulative time (python -X importtime)."""
    rows = []
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(3)) <= 1:   # imported by the start script itself
            rows.append({"module": m.group(4), "cumulative_s": int(m.group(2)) / 1e6})
    return sorted(rows, key=lambda r: -r["cumulative_s"])[:n]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rounds = [one_round(Path(tmp)) for _ in range(args.rounds)]
        imports = top_imports(one_round(Path(tmp), importtime=True)["stderr"])
    rows = [
        {"measure": "launch -> first paint of the window (wall s)",
         "median [min-max]": spread([r["paint_s"] for r in rounds]), "target": "<= 1.0"},
        {"measure": "  CPU time of the process until then (s)",
         "median [min-max]": spread([r["paint_cpu"] for r in rounds]), "target": ""},
        {"measure": "launch -> digits_cnn shown on the canvas (wall s)",
         "median [min-max]": spread([r["example_s"] for r in rounds]), "target": ""},
        {"measure": "  CPU time until then (s)",
         "median [min-max]": spread([r["example_cpu"] for r in rounds]), "target": ""},
        {"measure": "torch imported before the first paint",
         "median [min-max]": str(any(r["torch"] for r in rounds)), "target": "False"},
        {"measure": "pyqtgraph imported before the first paint",
         "median [min-max]": str(any(r["pyqtgraph"] for r in rounds)), "target": ""},
    ]
    print(f"{args.rounds} fresh processes, one after another")
    print_table(rows, ["measure", "median [min-max]", "target"])
    print("\nslowest imports of the start script (cumulative, one round with -X importtime, "
          "which slows them):")
    print_table(imports, ["module", "cumulative_s"])
    for r in rounds:
        r.pop("stderr", None)
    write_json("startup", {"rounds": rounds, "top_imports": imports})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
