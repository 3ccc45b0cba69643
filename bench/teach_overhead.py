"""What the teaching views cost while xor_mlp trains in the main window: the GUI thread's CPU
time per second of training and the trainer's throughput (samples/s), for

  bare      the Curves tab shown, health warnings off (the app without teaching extras)
  curves    the Curves tab shown, health warnings on (what every run pays)
  boundary  the Decision boundary tab shown: decision regions recomputed on the trainer
            thread between batches (<= 10/s, <= 10 % of the time) and drawn on the GUI thread
  heatmaps  the Curves tab shown, the per-unit heatmaps inside the canvas nodes on
  both      the Decision boundary tab and the heatmaps (the app's default for xor_mlp)

Health warnings are on in every mode but `bare`; the heatmaps only in the last two.

Each round runs every mode once, in an order rotating with the round, so drifting machine load
hits all alike; the table gives each round and the medians with their spread (min..max), and
the ratios against `bare` measured in the same rounds: of throughput (wall clock) and of the
trainer thread's CPU time per sample (what the trainer-side work of a view costs, which a
busy shared machine does not blur as it does wall clock). Targets (design.md): live
GUI training keeps >= 0.95 of the throughput; here the views' own cost is what is measured.
Writes bench/results/teach_overhead.json.
Run: QT_QPA_PLATFORM=offscreen python -m bench.teach_overhead [--rounds 5] [--epochs 100]"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

from bench.common import print_table, write_json
from engine.project import load_project

EXAMPLE = Path(__file__).resolve().parent.parent / "resources" / "examples"
MODES = ("bare", "curves", "boundary", "heatmaps", "both")


def _window(name: str, epochs: int, settings_dir: str):
    from studio.document import Document
    from studio.ui.main_window import MainWindow

    project = load_project(EXAMPLE / f"{name}.nnproj")
    project.path = None
    project.training["epochs"] = epochs
    settings = QSettings(str(Path(settings_dir) / "bench.ini"), QSettings.Format.IniFormat)
    win = MainWindow(Document(project, autosave_ms=0), settings)
    win.resize(1360, 850)
    win.show()
    for _ in range(5):
        QApplication.processEvents()
    return win


def run(mode: str, name: str, epochs: int, settings_dir: str) -> dict:
    """One training run in a fresh main window with `mode`'s views; its figures."""
    win = _window(name, epochs, settings_dir)
    panel = win.panels["training"]
    panel.overrides = {"run_dir": False}
    win.show_tab("training")
    boundary = mode in ("boundary", "both")
    panel.views.setCurrentWidget(panel.boundary if boundary else panel.curves)
    heatmaps = getattr(win, "unit_heatmaps", None)
    if heatmaps is not None:
        heatmaps.set_enabled(mode in ("heatmaps", "both"))
    if mode == "bare" and win.health is not None:
        panel.extra_callbacks.remove(win.health.feed)
    rows: list[dict] = []
    trainer_cpu: dict[str, float] = {}

    def on_event(e):      # on the trainer thread: its own CPU time from start to finish
        if e.kind == "epoch":
            rows.append(e.metrics)
        elif e.kind in ("started", "finished"):
            trainer_cpu[e.kind] = time.thread_time()
            trainer_cpu.setdefault("samples", getattr(e, "train_size", 0) * epochs)

    panel.extra_callbacks.append(on_event)
    QApplication.processEvents()
    frames0 = panel.boundary.frames_shown
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    panel.start()
    loop = QEventLoop()
    panel.worker.done.connect(loop.quit)
    loop.exec()
    wall = time.perf_counter() - wall0
    gui_cpu = time.thread_time() - cpu0
    frames = panel.boundary.frames_shown - frames0
    unit_frames = heatmaps.frames_shown if heatmaps is not None else 0
    panel.shutdown()
    win.document.undo_stack.setClean()    # the trained weights: nothing to ask about
    win.close()
    win.deleteLater()
    QApplication.processEvents()
    later = rows[1:] or rows           # the first epoch warms up
    return {"samples_s": statistics.median(r["samples_per_s"] for r in later),
            "gui_cpu_per_s": gui_cpu / max(wall, 1e-9), "wall_s": wall,
            "boundary_frames": frames, "frames_per_s": frames / max(wall, 1e-9),
            "heatmap_frames": unit_frames,
            "trainer_cpu_us_per_sample": 1e6 * (trainer_cpu["finished"] - trainer_cpu[
                "started"]) / max(trainer_cpu["samples"], 1)}


def _spread(values: list[float]) -> str:
    return f"{min(values):.3g}..{max(values):.3g}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--example", default="xor_mlp")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=100)
    args = ap.parse_args(argv)
    QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        run("curves", args.example, 3, tmp)                # warm-up: imports, kernels
        per_round = []
        for r in range(args.rounds):
            order = MODES[r % len(MODES):] + MODES[:r % len(MODES)]
            res = {}
            for mode in order:
                gc.collect()
                res[mode] = run(mode, args.example, args.epochs, tmp)
            per_round.append(res)
            print(f"round {r + 1}: " + ", ".join(
                f"{m} {res[m]['samples_s']:,.0f} samples/s, GUI {res[m]['gui_cpu_per_s']:.3f}"
                for m in MODES))
    rows, summary = [], []
    for r, res in enumerate(per_round):
        for m in MODES:
            rows.append({"round": r + 1, "mode": m, **res[m],
                         "ratio_vs_bare": res[m]["samples_s"] / res["bare"]["samples_s"],
                         "cpu_ratio_vs_bare": res[m]["trainer_cpu_us_per_sample"]
                         / res["bare"]["trainer_cpu_us_per_sample"]})
    for m in MODES:
        mine = [row for row in rows if row["mode"] == m]
        col = {k: [row[k] for row in mine] for k in (
            "samples_s", "gui_cpu_per_s", "ratio_vs_bare", "frames_per_s",
            "trainer_cpu_us_per_sample", "cpu_ratio_vs_bare")}
        summary.append({"mode": m, **{f"{k}_median": statistics.median(v)
                                      for k, v in col.items()},
                        **{f"{k}_spread": _spread(v) for k, v in col.items()}})
    print()
    print_table(rows, ["round", "mode", "samples_s", "ratio_vs_bare", "gui_cpu_per_s",
                       "trainer_cpu_us_per_sample", "cpu_ratio_vs_bare", "boundary_frames",
                       "heatmap_frames", "wall_s"])
    print()
    print_table(summary, ["mode", "samples_s_median", "samples_s_spread",
                          "ratio_vs_bare_median", "ratio_vs_bare_spread",
                          "gui_cpu_per_s_median", "gui_cpu_per_s_spread",
                          "trainer_cpu_us_per_sample_median", "cpu_ratio_vs_bare_median",
                          "cpu_ratio_vs_bare_spread", "frames_per_s_median"])
    write_json("teach_overhead", {"example": args.example, "epochs": args.epochs,
                                  "rounds": rows, "summary": summary,
                                  "cores": os.cpu_count(), "load_average": os.getloadavg()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
