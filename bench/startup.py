"""Start-up: time from launching `studio` (a fresh interpreter, as the command does) to the
main window's first paint, to the default example shown on the canvas, to all panels built
and to torch imported, and the longest event-loop freeze after the first paint (what the
user feels while the rest loads behind the painted window; with the GUI thread's own CPU
time in it, and the largest in any one turn, which a loaded machine hardly changes). Each
round is a new process; the wall time is measured from before the spawn, the CPU time is the whole
process's (interpreter start-up included), so a loaded machine shows in the wall figure and
hardly in the CPU one. Prints medians and spread over the rounds, and the modules imported
before the first paint that cost most (python -X importtime of one more round).
Bytecode: by default the rounds run as an installed app does, with its modules' compiled
bytecode cached (in a temporary folder, after one uncounted warm-up round; the source tree
is not written to); `--cold` compiles every module in every round, as with
PYTHONDONTWRITEBYTECODE=1.
`--trees OLD NEW` times two source trees (e.g. a checkout of main and a branch) in
interleaved rounds, so both see the same load.
Run it on a display (e.g. an X server, QT_QPA_PLATFORM=xcb): the offscreen platform exposes
the window late (after the panels and torch have loaded), so there the first-paint figure
is not what a user sees.
Run: python -m bench.startup [--rounds 9] [--cold] [--trees DIR DIR]"""
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
# paint; then, ticking a 5 ms timer, the longest freeze of the event loop until the default
# example is on its canvas, the panels are built and torch has been imported (the app quits).
CHILD = r"""
import json, sys, threading, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
from studio import app as studio_app
from studio.ui.main_window import MainWindow

times, gaps = {}, []

def now():
    return (time.time(), time.process_time())

class FirstPaint(QObject):
    # The window's first paint is the first Paint event to it or to its QWindow (which
    # paints the widgets; it follows the window's first Expose). It is timed when it is
    # done: at the next event the application delivers.
    started = False

    def eventFilter(self, obj, event):
        if "paint" in times:
            return False
        if self.started:
            times["paint"] = (*now(), "torch" in sys.modules, "pyqtgraph" in sys.modules)
            QTimer.singleShot(0, watch_after_paint)
        elif event.type() == QEvent.Type.Paint and (
                isinstance(obj, MainWindow) or any(
                    obj is w.windowHandle() for w in QApplication.topLevelWidgets()
                    if isinstance(w, MainWindow))):
            self.started = True
        return False

last = [0.0, 0.0]

def watch_after_paint():
    app = QApplication.instance()
    t, cpu = time.perf_counter(), time.thread_time()
    if last[0]:
        gaps.append((t - last[0], cpu - last[1]))   # wall, the GUI thread's CPU
    last[:] = t, cpu
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    if "example" not in times and window.scene.nodes:
        window.view.viewport().repaint()
        times["example"] = now()
    if "panels" not in times and window._panels_loaded:
        times["panels"] = now()
    torch_busy = any(t.name == "torch-import" for t in threading.enumerate())
    if "torch" not in times and "torch" in sys.modules and not torch_busy:
        times["torch"] = now()
    if len(times) == 4:
        window.document.undo_stack.setClean()
        app.quit()
        return
    QTimer.singleShot(5, watch_after_paint)

app = studio_app.make_app()
watch = FirstPaint()
app.installEventFilter(watch)
studio_app.run_app(None)
window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
out = {"steps": window.after_paint.timings,
       "paint_torch": times["paint"][2], "paint_pyqtgraph": times["paint"][3],
       "max_freeze_s": max(gaps)[0], "freeze_gui_cpu_s": max(gaps)[1],
       "max_turn_cpu_s": max(c for _w, c in gaps),
       "freezes_over_50ms": sum(w > 0.05 for w, _c in gaps)}
for key in ("paint", "example", "panels", "torch"):
    out[key + "_epoch"], out[key + "_cpu"] = times[key][:2]
print(json.dumps(out))
"""


def one_round(tree: Path, settings_dir: Path, pycache: Path | None,
              importtime: bool = False) -> dict:
    env = dict(os.environ, XDG_CONFIG_HOME=str(settings_dir), PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", CHILD]
    t0 = time.time()
    res = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tree,
                         timeout=180, check=False)
    if res.returncode != 0:
        raise SystemExit(res.stderr[-2000:])
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for key in ("paint", "example", "panels", "torch"):
        out[key + "_s"] = out[key + "_epoch"] - t0
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


MEASURES = [  # (label, key in a round, target)
    ("launch -> first paint of the window (wall s)", "paint_s", "<= 1.0"),
    ("  CPU time of the process until then (s)", "paint_cpu", ""),
    ("launch -> digits_cnn shown on the canvas (wall s)", "example_s", ""),
    ("  CPU time until then (s)", "example_cpu", ""),
    ("launch -> all panels built (wall s)", "panels_s", ""),
    ("launch -> torch imported (wall s)", "torch_s", ""),
    ("longest event-loop freeze after the first paint (s)", "max_freeze_s", "<= 0.05"),
    ("  the GUI thread's CPU time in it (s; the rest: waiting for the GIL or a core)",
     "freeze_gui_cpu_s", ""),
    ("largest GUI-thread CPU time in one event-loop turn after the paint (s)",
     "max_turn_cpu_s", ""),
    ("  freezes over 50 ms after the first paint (count)", "freezes_over_50ms", ""),
]


def summary_rows(results: dict[str, list[dict]]) -> list[dict]:
    rows = [{"measure": label, **{tree: spread([r[key] for r in rounds])
                                  for tree, rounds in results.items()}, "target": target}
            for label, key, target in MEASURES]
    for module in ("torch", "pyqtgraph"):
        rows.append({"measure": f"{module} imported before the first paint",
                     **{tree: str(any(r[f"paint_{module}"] for r in rounds))
                        for tree, rounds in results.items()}, "target": "False"})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cold", action="store_true",
                        help="no cached bytecode: every round compiles every module")
    parser.add_argument("--trees", nargs="+", type=Path, default=[ROOT],
                        help="source trees to time in interleaved rounds (default: this one)")
    args = parser.parse_args()
    trees = [t.resolve() for t in args.trees]
    names = [str(t) if len(trees) == 1 else t.name for t in trees]
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        caches = {t: None if args.cold else tmp / f"pycache{i}" for i, t in enumerate(trees)}
        if not args.cold:
            for t in trees:   # compiles and caches the bytecode (not counted)
                one_round(t, tmp, caches[t])
        results: dict[str, list[dict]] = {n: [] for n in names}
        for _ in range(args.rounds):
            for name, t in zip(names, trees):
                results[name].append(one_round(t, tmp, caches[t]))
        imports = top_imports(one_round(trees[-1], tmp, caches[trees[-1]],
                                        importtime=True)["stderr"])
    print(f"{args.rounds} fresh processes per tree, {'interleaved, ' if len(trees) > 1 else ''}"
          f"bytecode {'not cached (--cold)' if args.cold else 'cached'}; load average "
          f"{load:.2f} before, {os.getloadavg()[0]:.2f} after")
    print_table(summary_rows(results), ["measure", *names, "target"])
    for name, rounds in results.items():
        steps = {}
        for r in rounds:
            for step, cpu in r["steps"]:
                steps.setdefault(step, []).append(cpu)
        step_rows = sorted(({"step after the first paint": step, "GUI-thread CPU s": spread(v)}
                            for step, v in steps.items()),
                           key=lambda row: -float(row["GUI-thread CPU s"].split()[0]))
        print(f"\n{name}: the start-up steps after the first paint, each in an event-loop "
              "turn of its own (its CPU time is the freeze it causes on an idle machine):")
        print_table(step_rows[:8], ["step after the first paint", "GUI-thread CPU s"])
    print(f"\n{names[-1]}: slowest imports of the start script (cumulative, one round with "
          "-X importtime, which slows them):")
    print_table(imports, ["module", "cumulative_s"])
    for rounds in results.values():
        for r in rounds:
            r.pop("stderr", None)
    write_json("startup", {"rounds": results, "top_imports": imports, "cold": args.cold,
                           "load_average": [load, os.getloadavg()[0]]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
