"""Peak memory of big projects: a VGG-16 and a ResNet-50 (the pretrained gallery's
torchvision-size definitions, random weights saved beside the project) opened, validated,
summarised and exported.

Each stage runs in a fresh Python process. The process imports what it needs first (torch and
the engine), then resets its peak-RSS counter (/proc/self/clear_refs), runs the stage and reads
the peak back (VmHWM): "growth" is what the stage itself added to memory, "peak" the whole
process's high-water mark (ru_maxrss). The weights file's size says what eager loading would
cost; a stage that needs no weights should grow by far less.

Stages: open (load_project with the weights paired and loaded), open_lazy
(load_project(weights="lazy"): the weights file's header checked, tensors read on first
use), validate, summary, export_python (`studio validate|summary|export -f python`),
export_onnx (`studio export -f onnx`: needs every weight, checked in onnxruntime).
The app's open path (offscreen Qt; the floor includes PySide6, the studio package and, for
the window, the shown main window): app_open_eager (a Document given the eagerly loaded
project: how the app opened files before), app_open (Document.open: lazy, as the app opens
now), window_open (File > Open in the full main window, every panel built, events processed
until the dataset's profile arrived and the views settled), app_save_eager / app_save (open
eagerly / lazily, rename a node, File > Save over the same file), app_export_FORMAT (open
lazily, then what File > Export's thread runs, for python, onnx, torchscript and weights;
"reads": how often the weights file was read), app_save_as_read / app_save_as (open lazily,
Save As to a new folder: after reading the weights, as every Save As did before, so they are
re-encoded; and as it is now, copying the untouched file's bytes), app_save_edited /
app_save_edited_background (open lazily, new weights for every node as a run's end gives them,
File > Save: on the GUI thread, as before, and through Document.saver; "gui_freeze_ms": how
long the event loop could not run, the whole save for the first, the longest turn for the
second).
Run: python -m bench.big_models [--models vgg16,resnet50] [--stages ...] [--no-onnx]
     [--rounds N] [--tree OLD_CHECKOUT]   (before/after: each stage alternates the trees)
     python -m bench.big_models --stages app_open_eager,app_open,window_open
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_TREE"):   # --tree: the stages run another checkout's engine/studio
    sys.path.insert(0, os.environ["BENCH_TREE"])

from bench.common import print_table, write_json

MODELS = "vgg16,resnet50"
EXPORTS = ("python", "onnx", "torchscript", "weights")
STAGES = ("open", "open_lazy", "validate", "summary", "export_python", "export_onnx",
          "app_open_eager", "app_open", "window_open", "app_save_eager", "app_save",
          *(f"app_export_{fmt}" for fmt in EXPORTS), "app_save_as_read", "app_save_as",
          "app_save_edited", "app_save_edited_background")
APP_STAGES = ("app_open_eager", "app_open", "window_open", "app_save_eager", "app_save",
              *(f"app_export_{fmt}" for fmt in EXPORTS), "app_save_as_read", "app_save_as",
              "app_save_edited", "app_save_edited_background")


def make_project(name: str, folder: Path) -> Path:
    """The gallery network `name` for a 2-class image folder (6 small PNGs) as a saved
    project with random weights (a pair)."""
    import numpy as np
    import torch
    from PIL import Image

    from engine.compile import compile_graph, node_state
    from engine.pretrained import new_project
    from engine.project import save_project

    data = folder / "photos"
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (data / cls).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(data / cls / f"{i}.png")
    path = folder / f"{name}.nnproj"
    project = new_project(name, weights=None, data=data, project_path=path)
    torch.manual_seed(0)
    project.graph.weights = node_state(compile_graph(project.graph, load_weights=False))
    save_project(project, path)
    return path


def _vm(field: str) -> int:
    """A /proc/self/status memory figure in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _stage(stage: str, path: str, out_dir: str) -> None:
    from engine.cli import main

    if stage == "open":
        from engine.project import load_project
        load_project(path)
    elif stage == "open_lazy":
        from engine.project import load_project
        load_project(path, weights="lazy")
    elif stage in ("validate", "summary"):
        assert main([stage, path]) == 0
    elif stage == "export_python":
        assert main(["export", path, "-f", "python", "-o", f"{out_dir}/m.py", "--force"]) == 0
    elif stage == "export_onnx":
        assert main(["export", path, "-f", "onnx", "-o", f"{out_dir}/m.onnx", "--force"]) == 0
    else:
        raise SystemExit(f"unknown stage {stage}")


def _app(stage: str, out_dir: str):
    """The Qt side a stage of the app's open path runs in (made before the floor is read),
    and the function that runs the stage. Settings and recovery files go to `out_dir`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    import studio.document
    from engine.project import load_project
    from studio.document import Document

    app = QApplication.instance() or QApplication([])
    studio.document.recovery_dir = lambda: Path(out_dir) / "recovery"

    def settle(doc, seconds: float = 1.0) -> None:
        deadline = time.monotonic() + 120
        while doc.data_pending and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    if stage == "app_open_eager":
        return lambda path: settle(Document(load_project(path), autosave_ms=0))
    if stage == "app_open":
        def run(path):
            doc = Document(autosave_ms=0)
            doc.open(path)
            settle(doc)
        return run
    if stage.startswith("app_export_"):
        from engine.export import export_project

        def open_export(path):   # what File > Export's thread runs, after a lazy open
            doc = Document(autosave_ms=0)
            doc.open(path)
            settle(doc, 0)
            fmt = stage[len("app_export_"):]
            export_project(doc.project, fmt, f"{out_dir}/m.{fmt}")
            print("READS", doc.graph.weights.source.reads)
        return open_export
    if stage in ("app_save_as_read", "app_save_as"):
        def open_save_as(path):   # File > Save As to a new name after a lazy open
            doc = Document(autosave_ms=0)
            doc.open(path)
            settle(doc, 0)
            if stage == "app_save_as_read":
                len(doc.graph.weights)   # read (as every Save As did before): re-encoded
            target = Path(out_dir) / "copy" / Path(path).name
            target.parent.mkdir(exist_ok=True)
            for old in target.parent.iterdir():   # an earlier round's copy
                old.unlink()
            doc.save_as(target)
            print("READS", doc.graph.weights.source.reads)
        return open_save_as
    if stage in ("app_save_edited", "app_save_edited_background"):
        def edited_save(path):   # File > Save after the weights changed (a run's end)
            doc = Document(autosave_ms=0)
            doc.open(path)
            settle(doc, 0)
            doc.set_weights({nid: dict(t) for nid, t in doc.graph.weights.items()}, "edited")
            start = time.perf_counter()
            if stage == "app_save_edited":   # on the GUI thread, as Save did before
                doc.save()
                freeze = time.perf_counter() - start
            else:
                assert doc.saver.start(path)
                freeze = time.perf_counter() - start
                while doc.saver.busy:   # the longest event-loop turn while it saves
                    turn = time.perf_counter()
                    app.processEvents()
                    time.sleep(0.005)
                    freeze = max(freeze, time.perf_counter() - turn - 0.005)
            assert not doc.modified
            print(f"FREEZE {freeze * 1000:.0f}")
        return edited_save
    if stage in ("app_save_eager", "app_save"):
        from studio.commands import RenameCommand

        def open_rename_save(path):
            if stage == "app_save":
                doc = Document(autosave_ms=0)
                doc.open(path)
            else:
                doc = Document(load_project(path), autosave_ms=0)
            settle(doc, 0)
            doc.push(RenameCommand(doc.graph, next(iter(doc.graph.nodes)), "renamed"))
            doc.save()
        return open_rename_save
    from studio.ui.main_window import MainWindow

    settings = QSettings(str(Path(out_dir) / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(Document(autosave_ms=0), settings)
    win.resize(1360, 850)
    win.show()
    settle(win.document)

    def open_in_window(path):
        assert win.open_file(path, ask_unsaved=False)
        settle(win.document, 3.0)
        assert win.document.graph.weights.source.reads == 0   # nothing shown at open read them
    return open_in_window


def child(stage: str, path: str, out_dir: str) -> None:
    import torch  # noqa: F401  (the floor every stage shares)

    import engine.cli
    import engine.project  # noqa: F401
    run = _app(stage, out_dir) if stage in APP_STAGES else None
    floor = _vm("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")   # reset the peak (VmHWM) to now
    wall, cpu = time.perf_counter(), time.process_time()
    if run is not None:
        run(path)
    else:
        _stage(stage, path, out_dir)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps({"floor": floor, "hwm": _vm("VmHWM"), "peak": peak,
                                  "wall_s": wall, "cpu_s": cpu}))


def run_stage(stage: str, path: Path, out_dir: str, tree: str | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if tree:
        env["BENCH_TREE"] = str(Path(tree).resolve())
    done = subprocess.run([sys.executable, "-m", "bench.big_models", "--child", stage,
                           str(path), out_dir], check=False, capture_output=True, text=True,
                          cwd=ROOT, env=env)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{stage} on {path.name} failed:\n{done.stdout[-1500:]}"
                         f"\n{done.stderr[-1500:]}")
    r = json.loads(lines[-1][7:])
    reads = [ln.split()[1] for ln in done.stdout.splitlines() if ln.startswith("READS ")]
    freeze = [float(ln.split()[1]) for ln in done.stdout.splitlines()
              if ln.startswith("FREEZE ")]
    mb = 2 ** 20
    return {"stage": stage + (" (old tree)" if tree else ""),
            "reads": reads[-1] if reads else "", "gui_freeze_ms": freeze[-1] if freeze else "",
            "growth_mb": (r["hwm"] - r["floor"]) / mb,
            "peak_mb": r["peak"] / mb, "floor_mb": r["floor"] / mb, "wall_s": r["wall_s"],
            "cpu_s": r["cpu_s"]}


def _rows(stages, path: Path, tmp: str, tree: str | None, rounds: int) -> list[dict]:
    """Each stage `rounds` times (and on `tree` too, alternating): the median of each
    figure, with the range of the growth."""
    import statistics

    rows = []
    trees = [None, tree] if tree else [None]
    for stage in stages:
        done: dict = {t: [] for t in trees}
        for _ in range(rounds):
            for t in trees:
                done[t].append(run_stage(stage, path, tmp, t))
        for runs in done.values():
            row = dict(runs[0])
            for key in ("growth_mb", "peak_mb", "floor_mb", "wall_s", "cpu_s"):
                row[key] = statistics.median(r[key] for r in runs)
            if row["gui_freeze_ms"] != "":
                row["gui_freeze_ms"] = statistics.median(r["gui_freeze_ms"] for r in runs)
            row["growth_range_mb"] = [min(r["growth_mb"] for r in runs),
                                      max(r["growth_mb"] for r in runs)]
            rows.append(row)
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=MODELS)
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--no-onnx", action="store_true", help="skip export_onnx (slow)")
    ap.add_argument("--tree", help="also run each stage on this checkout (e.g. main before "
                    "a change), interleaved: the before/after of one run")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each stage (median)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child)
    stages = [s for s in args.stages.split(",") if not (args.no_onnx and s == "export_onnx")]
    out: dict = {"stages": stages, "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        for name in args.models.split(","):
            code = ("import sys; from pathlib import Path; from bench.big_models import "
                    f"make_project; print(make_project({name!r}, Path(sys.argv[1])))")
            made = subprocess.run([sys.executable, "-c", code, tmp], check=False,
                                  capture_output=True, text=True, cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)))
            if made.returncode:
                raise SystemExit(made.stderr[-2000:])
            path = Path(made.stdout.strip().splitlines()[-1])
            weights_mb = path.with_suffix(".safetensors").stat().st_size / 2 ** 20
            rows = _rows(stages, path, tmp, args.tree, args.rounds)
            print(f"\n{name}: weights file {weights_mb:.1f} MB; memory in MB (growth: what "
                  f"the stage added after imports; peak: the process's maximum RSS)")
            print_table(rows, ["stage", "reads", "gui_freeze_ms", "growth_mb", "peak_mb", "floor_mb", "wall_s",
                               "cpu_s"])
            out[name] = {"weights_file_mb": weights_mb, "rows": rows}
    out["load_average_end"] = os.getloadavg()
    print(f"\nload average (1 min) at the start: {out['load_average'][0]:.2f}, at the end: "
          f"{out['load_average_end'][0]:.2f}")
    write_json("big_models", out)


if __name__ == "__main__":
    main()
