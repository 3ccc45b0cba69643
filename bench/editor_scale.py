"""Desktop editor timings: time to first window shown (torch must not be imported yet; target
<= 1.5 s, measured in a fresh process from interpreter start), opening a 1,000-node project in
the window (target <= 1 s, including the first paint), a param edit at the head of the graph
(every wire label downstream updates), its undo, auto-layout and frame-all; and a ResNet-50
built from blocks: open in the window (target <= 1 s), validate (<= 20 ms) and an edit inside
the block type its 16 bottlenecks use (re-validation <= 20 ms).
Run: python -m bench.editor_scale"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import print_table, write_json  # noqa: E402

FIRST_WINDOW = r"""
import time, sys
t0 = time.perf_counter()
c0 = time.process_time()
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from studio.app import make_app
from studio.ui.main_window import MainWindow
app = make_app()
w = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat), lazy_panels=True)
w.show()
app.processEvents()
shown = time.perf_counter()
shown_cpu = time.process_time() - c0
torch_loaded = "torch" in sys.modules
w.load_panels()
app.processEvents()
panels = time.perf_counter()
print(f"{shown_cpu:.4f} {shown - t0:.4f} {panels - t0:.4f} {torch_loaded}")
w.document.undo_stack.setClean()
"""


def first_window(tmp: Path) -> dict:
    """Fresh interpreter: wall time from spawn to the window shown, and with all panels."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", FIRST_WINDOW, str(tmp / "s.ini")],
                         capture_output=True, text=True, check=False, env=env, cwd=ROOT,
                         timeout=120)
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    shown_cpu, shown_in, panels_in, torch_loaded = res.stdout.split()[-4:]
    startup = time.perf_counter() - t0
    return {"script_to_window_s": float(shown_in), "script_to_window_cpu_s": float(shown_cpu),
            "script_to_all_panels_s": float(panels_in),
            "process_total_s": startup, "torch_imported_before_window": torch_loaded == "True"}


def big_project(tmp: Path, n: int = 1000) -> Path:
    from bench.engine_scale import residual_mlp
    from engine.project import Project, save_project
    from studio.commands import layout_positions

    g, _first = residual_mlp(n)
    for nid, pos in layout_positions(g).items():
        g.nodes[nid].pos = pos
    return save_project(Project(g, meta={"name": "big"}), tmp / "big.nnproj")


def in_window(path: Path, tmp: Path) -> dict:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.app import make_app
    from studio.commands import SetParamCommand
    from studio.document import Document
    from studio.ui.main_window import MainWindow

    app = make_app()
    win = MainWindow(Document(autosave_ms=0),
                     QSettings(str(tmp / "w.ini"), QSettings.Format.IniFormat))
    win.resize(1600, 1000)
    win.show()
    QApplication.processEvents()

    cpu: dict[str, float] = {}

    def timed(fn, key: str | None = None) -> float:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        QApplication.processEvents()
        win.view.viewport().repaint()
        if key:
            cpu[key] = time.process_time() - c0
        return time.perf_counter() - t0

    out = {"open_s": timed(lambda: win.open_file(path, ask_unsaved=False), "open")}
    win.scene.flush_labels()
    out["open_cpu_s"] = cpu["open"]
    g = win.document.graph
    first = next(nid for nid, node in g.nodes.items() if node.type == "core.Linear")
    out["nodes"], out["edges"] = len(g.nodes), len(g.edges)
    out["wires_labelled"] = sum(1 for e in win.scene.edges.values() if e.label.text())
    edits, undos, rest = [], [], []
    before = {e: item.label.text() for e, item in win.scene.edges.items()}
    for value in (32, 48, 40, 56, 24, 36, 44):   # medians: one sample is noise here
        edits.append((timed(lambda v=value: win.document.push(
            SetParamCommand(g, first, "out_features", v)), "edit"), cpu["edit"]))
        rest.append(timed(win.scene.flush_labels, "rest"))   # off-screen labels, batched
        if value == 32:
            out["bad_wires_after_edit"] = sum(1 for e in win.scene.edges.values() if e.bad)
            out["labels_changed_by_edit"] = sum(
                1 for e, item in win.scene.edges.items() if item.label.text() != before[e])
        undos.append((timed(win.document.undo_stack.undo, "undo"), cpu["undo"]))
        win.scene.flush_labels()
    out["offscreen_labels_s"] = sorted(rest)[len(rest) // 2]
    for key, runs in (("param_edit", edits), ("undo", undos)):
        wall, cpu_s = sorted(w for w, _ in runs), sorted(c for _, c in runs)
        out[f"{key}_s"], out[f"{key}_cpu_s"] = wall[len(wall) // 2], cpu_s[len(cpu_s) // 2]
        out[f"{key}_cpu_spread_s"] = [cpu_s[0], cpu_s[-1]]
    out["auto_layout_s"] = timed(win.editor.auto_layout)
    out["frame_all_s"] = timed(win.view.frame_all)
    win.document.undo_stack.setClean()
    win.close()
    app.processEvents()
    return out


def resnet50_project(tmp: Path) -> Path:
    from bench.resnet_blocks import resnet50_blocks
    from engine.project import Project, save_project

    return save_project(Project(resnet50_blocks(), meta={"name": "resnet50"}),
                        tmp / "resnet50.nnproj")


def _median_cpu(fn, rounds: int = 15) -> tuple[float, float]:
    """Median and spread (max - min) of the CPU time of `fn` over `rounds` runs."""
    times = []
    for _ in range(rounds):
        c0 = time.process_time()
        fn()
        times.append(time.process_time() - c0)
    times.sort()
    return times[len(times) // 2], times[-1] - times[0]


def resnet50_engine(path: Path) -> dict:
    """Headless: validate the ResNet-50 block project cold (block caches emptied) and
    re-validate after an edit inside the block type that its 16 bottlenecks use."""
    from engine.project import load_project
    from engine.validate import Validator, validate

    g = load_project(path).graph
    btype = g.blocks["BottleneckDown"]

    def cold():
        btype.changed()
        validate(g)

    validator = Validator(g)
    validator.validate()
    conv = btype.graph.by_name("conv2")
    flip = iter(range(10**6))

    def edit():
        btype.graph.set_param(conv.id, "bias", next(flip) % 2 == 0)
        validator.validate()

    report = validate(g)
    uses = sum(n.params.get("repeat", 1) for n in g.nodes.values() if n.is_block)
    cold_s, cold_spread = _median_cpu(cold)
    edit_s, edit_spread = _median_cpu(edit)
    return {"nodes": len(g.nodes), "block_uses": uses, "params": report.total_params,
            "validate_cold_cpu_s": cold_s, "validate_cold_spread_s": cold_spread,
            "edit_in_block_revalidate_cpu_s": edit_s, "edit_in_block_spread_s": edit_spread}


def resnet50_window(path: Path, tmp: Path) -> dict:
    """In the window: open the project (first paint included) and an edit inside the block
    type pushed as a command (the wire labels of all 16 uses update)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.app import make_app
    from studio.commands import SetParamCommand
    from studio.document import Document
    from studio.ui.main_window import MainWindow

    app = make_app()
    win = MainWindow(Document(autosave_ms=0),
                     QSettings(str(tmp / "r.ini"), QSettings.Format.IniFormat))
    win.resize(1600, 1000)
    win.show()
    QApplication.processEvents()
    t0, c0 = time.perf_counter(), time.process_time()
    win.open_file(path, ask_unsaved=False)
    QApplication.processEvents()
    win.view.viewport().repaint()
    out = {"open_s": time.perf_counter() - t0, "open_cpu_s": time.process_time() - c0}
    body = win.document.graph.blocks["BottleneckDown"].graph
    conv = body.by_name("conv2")
    t0, c0 = time.perf_counter(), time.process_time()
    win.document.push(SetParamCommand(body, conv.id, "bias", True))
    QApplication.processEvents()
    win.view.viewport().repaint()
    out["edit_in_block_s"] = time.perf_counter() - t0
    out["edit_in_block_cpu_s"] = time.process_time() - c0
    win.document.undo_stack.setClean()
    win.close()
    app.processEvents()
    return out


def _spread(median: float, spread: list[float]) -> str:
    return f"{median:.3f} [{spread[0]:.3f}-{spread[1]:.3f}]"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = first_window(tmp)
        scale = in_window(big_project(tmp), tmp)
        resnet_path = resnet50_project(tmp)
        resnet = {**resnet50_engine(resnet_path), **resnet50_window(resnet_path, tmp)}
    print("wall-clock seconds; on a shared, loaded machine the CPU time is the fairer figure")
    rows = [
        {"measure": "first window shown (fresh process)", "value": start["script_to_window_s"],
         "target": "<= 1.5 s"},
        {"measure": "  (CPU time of that process)", "value": start["script_to_window_cpu_s"],
         "target": ""},
        {"measure": "  + palette/inspector/panels built", "value":
            start["script_to_all_panels_s"], "target": ""},
        {"measure": "torch imported before window", "value": str(
            start["torch_imported_before_window"]), "target": "False"},
        {"measure": f"open {scale['nodes']}-node project in window", "value": scale["open_s"],
         "target": "<= 1 s"},
        {"measure": "  (CPU time of that open)", "value": scale["open_cpu_s"], "target": ""},
        {"measure": f"param edit at the head ({scale['labels_changed_by_edit']} labels "
                    "change), median of 7", "value": scale["param_edit_s"], "target": "16 ms"},
        {"measure": "  (CPU time, median [min-max])", "value":
            _spread(scale["param_edit_cpu_s"], scale["param_edit_cpu_spread_s"]), "target": ""},
        {"measure": "  then the off-screen labels (batches)", "value":
            scale["offscreen_labels_s"], "target": ""},
        {"measure": "undo that edit, median of 7", "value": scale["undo_s"], "target": ""},
        {"measure": "  (CPU time, median [min-max])", "value":
            _spread(scale["undo_cpu_s"], scale["undo_cpu_spread_s"]), "target": ""},
        {"measure": "auto layout", "value": scale["auto_layout_s"], "target": ""},
        {"measure": "frame all", "value": scale["frame_all_s"], "target": ""},
        {"measure": f"ResNet-50 blocks ({resnet['nodes']} nodes, {resnet['block_uses']} "
                    "bottlenecks): open in window", "value": resnet["open_s"],
         "target": "<= 1 s"},
        {"measure": "  (CPU time of that open)", "value": resnet["open_cpu_s"], "target": ""},
        {"measure": "  validate, block caches cold (CPU, median)",
         "value": resnet["validate_cold_cpu_s"], "target": "<= 20 ms"},
        {"measure": "  edit inside the block type, re-validate (CPU, median)",
         "value": resnet["edit_in_block_revalidate_cpu_s"], "target": "<= 20 ms"},
        {"measure": "  that edit in the window (labels update)",
         "value": resnet["edit_in_block_s"], "target": ""},
    ]
    print_table(rows, ["measure", "value", "target"])
    write_json("editor_scale", {"first_window": start, "scale": scale, "resnet50_blocks": resnet})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
