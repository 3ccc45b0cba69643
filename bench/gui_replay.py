"""The GUI thread's CPU while a run trains, at a fixed pace whatever the machine's load: the
events of a digits_cnn run (epochs, batch events, gradient norms, activation snapshots) are
replayed through the real Training panel (and a second,
visible feature-map view, as bench/gui_overhead.py has) by a stand-in trainer that only
sleeps, with the timing of a quiet 2-core machine (an epoch every EPOCH_S, a batch event
every 0.1 s, a snapshot a second, as the trainer throttles them). What the GUI thread
spends per second of such a run is what the training thread loses on a shared core.

CPU time (not wall) is what is compared; with --trees, each round runs every tree in turn
(a process each, order rotating), so load drifts hit them alike. --split names the
components (bench/gui_split.py).

Run: QT_QPA_PLATFORM=offscreen python -m bench.gui_replay [--rounds 5] [--seconds 6]
     [--trees OLD_TREE NEW_TREE] [--split]"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

EPOCH_S = 0.075        # digits_cnn's 1,437 samples at ~19,000 samples/s
BATCH_EVENT_S = 0.1    # the trainer's default event_interval
SNAPSHOT_S = 1.0       # its default activation_interval


def paced(seconds: float) -> list[tuple[float, object]]:
    """(offset s, event) of a digits_cnn run of `seconds` at a quiet machine's pace: an
    epoch every EPOCH_S (45 steps, a cosine learning rate, curves that fall and rise as a
    real run's do), a batch event and gradient norms every BATCH_EVENT_S, a snapshot of the
    first conv layer (16 maps of 8x8, with its filters) every SNAPSHOT_S and at the end."""
    import numpy as np

    from engine.train import events as ev

    epochs, spe = max(1, round(seconds / EPOCH_S)), 45
    rng = np.random.default_rng(0)
    lr = lambda g: 0.001 * (1 + np.cos(np.pi * g / (epochs * spe)))

    def snapshot(g):
        return ev.ActivationSnapshot(g, "n2", rng.random((1, 16, 8, 8), np.float32),
                                     rng.random((16, 1, 3, 3), np.float32))

    out = [(0.0, ev.RunStarted(None, epochs, spe, 1437, 360, "cpu", {}, losses=("loss",),
                               metrics=("accuracy",)))]
    for epoch in range(1, epochs + 1):
        t0, t1 = (epoch - 1) * EPOCH_S, epoch * EPOCH_S
        k = int(t0 / BATCH_EVENT_S) + 1
        while k * BATCH_EVENT_S < t1:
            t = k * BATCH_EVENT_S
            step = max(1, int((t - t0) / EPOCH_S * spe))
            g = (epoch - 1) * spe + step
            out.append((t, ev.BatchEnded(epoch, step, g, 2.0 / (epoch + step / spe) + 0.05 *
                                         rng.random(), lr(g), 19000.0, 1.0, spe)))
            out.append((t, ev.GradNorms(g, {n: float(rng.random()) for n in
                                            ("n2", "n5", "n8", "n11")})))
            if int(t / SNAPSHOT_S) > int((t - BATCH_EVENT_S) / SNAPSHOT_S):
                out.append((t, snapshot(g)))
            k += 1
        row = {"epoch": epoch, "loss": 2.0 / epoch, "accuracy": 1 - 0.5 / epoch,
               "val_loss": 2.2 / epoch, "val_accuracy": 1 - 0.6 / epoch,
               "lr": lr(epoch * spe), "elapsed_s": t1, "samples_per_s": 19000.0}
        out.append((t1, ev.EpochEnded(epoch, row)))
    out.append((epochs * EPOCH_S, snapshot(epochs * spe)))
    out.append((epochs * EPOCH_S, ev.RunFinished("completed", epochs)))
    return out


class ReplayTrainer:
    """Stands in for engine.train.Trainer: emits the paced events, sleeping between them."""

    def __init__(self, schedule, callbacks):
        self.schedule, self.callbacks = schedule, callbacks
        self._stop = threading.Event()
        self.model = None          # no weights to adopt, no insight at the end

    def fit(self) -> None:
        t0 = time.perf_counter()
        for at, event in self.schedule:
            wait = t0 + at - time.perf_counter()
            if wait > 0 and self._stop.wait(wait):
                return
            for cb in self.callbacks:
                cb(event)

    def stop(self) -> None:
        self._stop.set()

    def watch(self, _ids) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def step(self) -> None: ...


def _bench_module(name: str):
    """A module of this bench folder (not of the tree under test, which may predate it)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_bench_{name}",
                                                  Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_run(tree: str, seconds: float, split: bool) -> dict:
    """Replay a run of `seconds` into a fresh panel of the Studio in `tree`; the GUI
    thread's CPU per second."""
    sys.path.insert(0, tree)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    split_module = _bench_module("gui_split")
    SplitApp, table = split_module.SplitApp, split_module.table

    app = QApplication.instance() or (SplitApp([]) if split else QApplication([]))
    schedule = paced(seconds)
    from engine.project import load_project
    from studio.document import Document
    from studio.ui.insight.feature_maps import FeatureMapView
    from studio.ui.training.panel import TrainingPanel

    project = load_project(Path(tree) / "resources" / "examples" / "digits_cnn.nnproj")
    project.path = None
    doc = Document(project, autosave_ms=0)
    panel = TrainingPanel(doc, trainer_factory=lambda _p, _d, cbs, **_o:
                          ReplayTrainer(schedule, cbs))
    panel.resize(1400, 700)
    panel.show()
    panel.overrides = {"run_dir": False}
    panel.feature_maps.choose("n2")
    maps = FeatureMapView()
    maps.set_layers([("n2", "n2")])
    maps.choose("n2")
    maps.resize(500, 500)
    maps.show()
    panel.activations.connect(maps.show_activation)
    loop = QEventLoop()
    QTimer.singleShot(1000, loop.quit)     # idle first, as a user looks before Train
    loop.exec()
    marks = {}

    def first_batch(_b):
        if "wall" not in marks:
            marks["wall"], marks["cpu"] = time.perf_counter(), time.thread_time()
            if split:
                app.counting = True

    if split:
        split_module.name_panel(app, panel, maps)
    panel.start()
    if split:
        app.name_timer(panel.worker._timer, "worker drain (timer)")
    panel.worker.progress.connect(first_batch)
    panel.worker.finished.connect(lambda _ev: marks.setdefault(
        "end", (time.perf_counter(), time.thread_time())))
    panel.worker.done.connect(loop.quit)
    loop.exec()
    app.counting = False
    wall = marks["end"][0] - marks["wall"]
    cpu = marks["end"][1] - marks["cpu"]
    out = {"gui_cpu_per_s": cpu / wall, "seconds": wall, "epochs": panel._run.epochs,
           "progress": panel.progress.value(),
           "loss_points": int(panel.curves.plots["loss"].train.n)}
    if split:
        out["split"] = table(app.cpu, app.calls, wall)
    panel.shutdown()
    panel.close()
    maps.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--trees", nargs="+", default=[str(ROOT)],
                    help="source trees to compare (studio and engine from each; this bench code)")
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one_run(args.one, args.seconds, args.split)))
        return 0
    sys.path.insert(0, str(ROOT))
    results: dict[str, list] = {t: [] for t in args.trees}
    loads = []
    for r in range(args.rounds):
        order = args.trees[r % len(args.trees):] + args.trees[:r % len(args.trees)]
        for tree in order:
            env = dict(os.environ, PYTHONPATH="")
            cmd = [sys.executable, str(Path(__file__).resolve()), "--one", tree,
                   "--seconds", str(args.seconds)] + (["--split"] if args.split else [])
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree,
                                  check=False)
            line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            if proc.returncode or not line.startswith("{"):
                print(proc.stderr[-2000:])
                return 1
            res = json.loads(line)
            results[tree].append(res)
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1} {tree}: GUI-thread CPU {res['gui_cpu_per_s'] * 1000:.1f} "
                  f"ms per s ({res['epochs']} epochs, progress {res['progress']} %)")
    from bench.common import print_table, write_json

    rows = []
    for tree, runs in results.items():
        v = [x["gui_cpu_per_s"] * 1000 for x in runs]
        rows.append({"tree": tree, "median_ms_per_s": statistics.median(v), "min": min(v),
                     "max": max(v), "rounds": len(v)})
    print()
    print_table(rows, ["tree", "median_ms_per_s", "min", "max", "rounds"])
    print(f"load average during the rounds: {min(loads):.2f}-{max(loads):.2f}")
    if args.split:
        for tree, runs in results.items():
            print(f"\n{tree}, last round, ms per second of training by component:")
            print_table(runs[-1]["split"], ["component", "ms_per_s", "calls_per_s",
                                            "us_per_call"])
    write_json("gui_replay", {"rows": rows, "runs": results, "load": loads,
                              "epoch_s": EPOCH_S})
    return 0


if __name__ == "__main__":
    sys.exit(main())
