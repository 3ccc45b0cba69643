"""Training throughput from the GUI (live curves and feature maps on) vs. headless training of
the same project, alternating in one process; and the Qt event loop's lag during GUI training,
measured with a 5 ms QTimer probe (bench/stalls.py) while batches run. Targets:
throughput_ratio >= 0.95, lag p99 <= 16 ms, max <= 50 ms. The largest stall is explained: its
GUI-thread CPU time and the GUI thread's stack sampled during it; so are the largest stalls
at a run's start (before its first batch) and at its end (its weights adopted, its insight
views filled). Writes bench/results/gui_overhead.json.

Like with like: the app trains with the cores other programs leave free less one (the GUI
thread keeps a core), `studio train` with the free cores (engine.threads). Each round runs
headless at both thread counts and the GUI twice (once timed for its throughput, once with
the 5 ms lag probe, whose 200 wake-ups a second preempt the training thread and are not the
app's), in a rotating order; throughput_ratio is the GUI against the faster headless
setting (so neither a slow default nor a lucky thread count flatters the GUI), and both
per-setting ratios are reported too, and the probed run's (ratio_probed). A warm-up run
comes first. --split times the GUI thread's CPU by component (bench/gui_split.py).
Run: QT_QPA_PLATFORM=offscreen python -m bench.gui_overhead [--rounds 5] [--epochs 20]
     [--gui-threads N]   (train from the app with N torch threads instead of its choice)
     [--load N]          (N separate processes keep N cores busy meanwhile)"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from bench.common import busy, print_table, stop_busy, write_json
from bench.gui_split import SplitApp, name_panel, table
from bench.stalls import StallProbe, describe
from bench.thread_cost import ThreadCost
from engine.project import load_project

EXAMPLE = Path(__file__).resolve().parent.parent / "resources" / "examples"
PROBE_MS = 5
COSTS: list[dict] = []   # the training thread's cost per sample of each run (thread_cost.py)
SPLITS: list[dict] = []  # the GUI thread's CPU while batches ran, of each GUI run


def _project(name: str, epochs: int, batch_size: int):
    project = load_project(EXAMPLE / f"{name}.nnproj")
    project.path = None
    project.training.update(epochs=epochs, batch_size=batch_size)
    return project


def _rate(epoch_rows: list[dict]) -> float:
    """Median samples/s of the epochs after the first (warm-up excluded; the median, as a
    load spike from another process on a shared machine hits single epochs)."""
    rows = epoch_rows[1:] or epoch_rows
    return statistics.median(r["samples_per_s"] for r in rows)


def headless(name: str, epochs: int, batch_size: int, thread: bool = False,
             threads: int | None = None) -> float:
    """Train without any Qt, on the main thread as `studio train` does (or on a plain
    background thread), with the threads `studio train` chooses or `threads`."""
    import torch

    from engine.threads import choose_threads
    from engine.train.trainer import Trainer

    before = torch.get_num_threads()
    torch.set_num_threads(threads or choose_threads())   # as `studio train` chooses
    try:
        return _headless(name, epochs, batch_size, thread, Trainer)
    finally:
        torch.set_num_threads(before)


def _headless(name, epochs, batch_size, thread, Trainer) -> float:
    import threading

    # like with like: the app's worker freezes the objects alive at the start of a run (no
    # cyclic-GC scans of them while it trains), and `studio train` has no GUI objects at all;
    # unfrozen, this process's leftover pyqtgraph objects would slow the headless runs down
    gc.freeze()
    try:
        return _headless_run(name, epochs, batch_size, thread, Trainer, threading)
    finally:
        gc.unfreeze()


def _headless_run(name, epochs, batch_size, thread, Trainer, threading) -> float:
    cost = ThreadCost()
    trainer = Trainer(_project(name, epochs, batch_size), "cpu", [cost], run_dir=False)
    if thread:
        t = threading.Thread(target=trainer.fit)
        t.start()
        t.join()
    else:
        trainer.fit()
    COSTS.append(cost.per_sample())
    return _rate(cost.rows)


class _NoProbe:
    """In place of StallProbe for a run timed for its throughput: the probe's timer wakes
    the GUI thread 200 times a second, preempting the training thread each time."""

    timer = None

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def mark(self, _name: str) -> None: ...

    def gaps(self) -> list:
        return []


def gui(app, name: str, epochs: int, batch_size: int, watch: str, probed: bool = True
        ) -> tuple[float, list, float]:
    from studio.document import Document
    from studio.ui.training.panel import TrainingPanel

    doc = Document(_project(name, epochs, batch_size), autosave_ms=0)
    panel = TrainingPanel(doc)
    panel.resize(1400, 700)
    panel.show()
    panel.overrides = {"run_dir": False}   # the app's defaults otherwise (snapshots 1/s)
    panel.feature_maps.choose(watch)
    # a second, visible feature-map view fed by the panel's public activations signal (as the
    # canvas thumbnails are), so live curves AND feature maps are drawn during the run
    from studio.ui.insight.feature_maps import FeatureMapView
    maps = FeatureMapView()
    maps.set_layers([(watch, watch)])
    maps.choose(watch)
    maps.resize(500, 500)
    maps.show()
    panel.activations.connect(maps.show_activation)
    draws = []
    panel.activations.connect(lambda *_: draws.append(maps.tile_count))
    _wait(lambda: False, IDLE_S)    # a user looks at the panel before pressing Train
    cost = ThreadCost()    # the epochs' rows, and where the training thread's time went
    panel.extra_callbacks.append(cost)
    probe = StallProbe(PROBE_MS) if probed else _NoProbe()
    split = _SplitRun(app, panel, maps, probe)
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    probe.start()                   # the run's start (plots, watch) is probed too ...
    panel.start()
    worker = panel.worker
    split.name_worker(worker)
    # ... but the figures of the target are those while batches run (not while data loads)
    worker.progress.connect(lambda _b: (probe.mark("batches"), split.begin()))
    loop = QEventLoop()
    worker.done.connect(lambda: (probe.mark("end"), split.end()))  # after the panel's own
    worker.done.connect(loop.quit)  # end of the run: the stall it is in is the end's
    loop.exec()                     # a real event loop, as in the app (no polling)
    # CPU time the GUI thread itself used while training: its share of a core
    gui_share = (time.thread_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9)
    # ... and insight shown, and the end's own later steps done (last points, forms)
    _wait(lambda: panel.views._insight_call is None and not panel.curves.running
          and panel.settings.isEnabled(), END_S)
    probe.stop()
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    maps.close()
    maps.deleteLater()
    assert draws and max(draws) > 0, "the feature maps were never drawn"
    app.processEvents()
    COSTS.append(cost.per_sample())
    SPLITS.append(split.result())
    return _rate(cost.rows), probe.gaps(), gui_share


class _SplitRun:
    """The GUI thread's CPU while batches run: in total (probe ticks) and, with a SplitApp
    (--split), by component (bench/gui_split.py)."""

    def __init__(self, app, panel, maps, probe):
        self.app, self.probe = app, probe
        self.on = isinstance(app, SplitApp)
        self.wall = self.cpu = None
        if self.on:
            app.reset()
            name_panel(app, panel, maps)
            if probe.timer is not None:
                app.name_timer(probe.timer, "stall probe (bench)")

    def name_worker(self, worker) -> None:
        if self.on:
            self.app.name_timer(worker._timer, "worker drain (timer)")

    def begin(self) -> None:
        if self.wall is None:
            self.wall, self.cpu = time.perf_counter(), time.thread_time()
            if self.on:
                self.app.counting = True

    def end(self) -> None:
        if self.wall is not None and not isinstance(self.wall, tuple):
            self.wall = (time.perf_counter() - self.wall, time.thread_time() - self.cpu)
            if self.on:
                self.app.counting = False

    def result(self) -> dict:
        """CPU s per s of training while batches ran, and its split (component -> CPU s)."""
        wall, cpu = self.wall if isinstance(self.wall, tuple) else (1.0, 0.0)
        out = {"batches_s": wall, "gui_cpu_per_s": cpu / max(wall, 1e-9)}
        if self.on:
            out["cpu_s"] = dict(self.app.cpu)
            out["calls"] = dict(self.app.calls)
        return out


_NO_GAP = {"lag_ms": 0.0, "gui_cpu_ms": 0.0}


def _split_table(splits: list[dict]) -> list[dict]:
    """The rounds' components summed, per second of training while batches ran."""
    import collections
    cpu, calls = collections.Counter(), collections.Counter()
    for sp in splits:
        cpu.update(sp.get("cpu_s", {}))
        calls.update(sp.get("calls", {}))
    rows = table(cpu, calls, sum(sp["batches_s"] for sp in splits))
    total = sum(cpu.values()) * 1000 / max(sum(sp["batches_s"] for sp in splits), 1e-9)
    return rows + [{"component": "(all)", "ms_per_s": total}]


def _spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max) of per-round figures."""
    return statistics.median(values), min(values), max(values)


END_S = 3.0      # the run's end is probed until its insight views are shown, or this long
IDLE_S = 1.0     # the shown panel idles this long before Train (it makes a spare plot then)


def _wait(done, timeout_s: float) -> None:
    """Run the event loop until done() or timeout_s."""
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: done() and loop.quit())
    poll.start(20)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    poll.stop()


def _round(app, args, r: int, gui_threads: int) -> dict:
    """One round: headless (default threads), headless (the GUI's threads), the GUI (its
    throughput) and the GUI with the stall probe (its lag), in an order rotating with r so
    drifting machine load hits all four alike."""
    out: dict = {}
    jobs = [
        ("headless_default", lambda: headless(args.example, args.epochs, args.batch_size)),
        ("headless_same", lambda: headless(args.example, args.epochs, args.batch_size,
                                           threads=gui_threads)),
        ("gui", lambda: gui(app, args.example, args.epochs, args.batch_size, args.watch,
                            probed=False)),
        ("gui_probed", lambda: gui(app, args.example, args.epochs, args.batch_size,
                                   args.watch)),
    ]
    for name, job in jobs[r % 4:] + jobs[:r % 4]:
        # collect the previous run's garbage (a closed panel is thousands of pyqtgraph
        # objects in reference cycles) now, not as a full collection in the middle of this
        # run; a long-lived app window does not make such garbage while it trains
        gc.collect()
        out[name] = job()
        out[f"{name}_thread"] = COSTS.pop()
        if name.startswith("gui"):
            out[f"{name}_split"] = SPLITS.pop()
    return out


def _thread_columns(res: dict) -> dict:  # (of the GUI run timed for its throughput)
    """The training thread's µs per sample: CPU, run-queue wait and asleep, GUI vs headless
    with the same threads (bench/thread_cost.py)."""
    out = {}
    for side, key in (("gui", "gui_thread"), ("hl", "headless_same_thread")):
        for k in ("threads", "cpu_us", "runq_us", "asleep_us", "invol_switches"):
            if k in res[key]:
                out[f"{side}_{k}"] = res[key][k]
    return out


THREAD_COLUMNS = [f"{side}_{k}" for side in ("gui", "hl")
                  for k in ("threads", "cpu_us", "runq_us", "asleep_us", "invol_switches")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--example", default="digits_cnn")
    ap.add_argument("--watch", default="n2", help="node id shown in the feature-map view")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--gui-threads", type=int, default=None,
                    help="torch threads when training from the app (default: as the app "
                    "chooses, engine.threads with a core kept for the GUI)")
    ap.add_argument("--load", type=int, default=0,
                    help="keep N cores busy with separate processes meanwhile")
    ap.add_argument("--split", action="store_true",
                    help="time the GUI thread's CPU by component while batches run "
                    "(bench/gui_split.py; a few µs per event more: attribution, not timing)")
    args = ap.parse_args(argv)
    procs = busy(args.load)
    try:
        return _main(args)
    finally:
        stop_busy(procs)


def _main(args) -> int:
    import studio.worker
    from engine.threads import choose_threads

    app = QApplication.instance() or (SplitApp([]) if args.split else QApplication([]))
    time.sleep(0.5 if args.load else 0)
    default_threads = choose_threads()        # what `studio train` picks now
    cores = os.cpu_count() or 1
    gui_threads = args.gui_threads or choose_threads(reserve=1)   # what the app picks
    studio.worker.TORCH_THREADS = args.gui_threads   # None: the app chooses for each run
    headless(args.example, 2, args.batch_size)            # warm-up: imports, data, kernels
    rows, lags, others, splits = [], [], [], []
    for r in range(args.rounds):
        load = os.getloadavg()[0]
        res = _round(app, args, r, gui_threads)
        g, _, share = res["gui"]
        g_probed, gaps, _ = res["gui_probed"]
        h_def, h_same = res["headless_default"], res["headless_same"]
        for gap in gaps:
            gap["round"] = r + 1
        batch_gaps = [gap for gap in gaps if gap["phase"] == "batches"] or [_NO_GAP]
        lags += [gap for gap in gaps if gap["phase"] == "batches"]
        others += [gap for gap in gaps if gap["phase"] != "batches"]
        edge = [gap for gap in gaps if gap["phase"] != "batches"] or [_NO_GAP]
        rows.append({"round": r + 1, "headless_default_s": h_def, "headless_same_s": h_same,
                     "gui_samples_s": g, "ratio_vs_default": g / h_def,
                     "ratio_vs_same": g / h_same, "gui_thread_cpu": share,
                     "ratio_probed": g_probed / max(h_def, h_same),
                     "gui_cpu_batches": res["gui_split"]["gui_cpu_per_s"],
                     "lag_p99_ms": float(np.percentile([x["lag_ms"] for x in batch_gaps], 99)),
                     "lag_max_ms": max(x["lag_ms"] for x in batch_gaps),
                     "stall_cpu_max_ms": max(x["gui_cpu_ms"] for x in batch_gaps),
                     "edge_lag_max_ms": max(x["lag_ms"] for x in edge),
                     "edge_cpu_max_ms": max(x["gui_cpu_ms"] for x in edge),
                     "load_avg": load, **_thread_columns(res)})
        print(f"round {r + 1}: headless {h_def:,.0f} samples/s ({default_threads} threads), "
              f"{h_same:,.0f} ({gui_threads}), GUI {g:,.0f} ({gui_threads}), "
              f"GUI with the stall probe {g_probed:,.0f}")
        splits.append(res["gui_split"])
    med = {k: statistics.median(row[k] for row in rows)
           for k in ("headless_default_s", "headless_same_s", "gui_samples_s",
                     "ratio_vs_default", "ratio_vs_same", "gui_thread_cpu",
                     "gui_cpu_batches", "ratio_probed")}
    # the GUI against the faster headless setting, chosen on the medians (not per round:
    # the larger of two noisy numbers would be biased up)
    best = "default" if med["headless_default_s"] >= med["headless_same_s"] else "same"
    for row in rows:
        row["ratio"] = row[f"ratio_vs_{best}"]
    med["ratio"] = med[f"ratio_vs_{best}"]
    lag_arr = np.asarray([g["lag_ms"] for g in lags]) if lags else np.zeros(1)
    worst = max(lags, key=lambda g: g["lag_ms"], default=None)
    worst_cpu = max(lags, key=lambda g: g["gui_cpu_ms"], default=None)
    edges = {phase: max((g for g in others if g["phase"] == phase),
                        key=lambda g: g["lag_ms"], default=None) for phase in ("start", "end")}
    result = {"example": args.example, "epochs": args.epochs, "batch_size": args.batch_size,
              "load": args.load,
              "cores": cores, "headless_threads": default_threads, "gui_threads": gui_threads,
              "rounds": rows, "headless_samples_s": max(med["headless_default_s"],
                                                        med["headless_same_s"]),
              "headless_default_samples_s": med["headless_default_s"],
              "headless_same_threads_samples_s": med["headless_same_s"],
              "gui_samples_s": med["gui_samples_s"],
              "throughput_ratio": med["ratio"], "faster_headless": best,
              "throughput_ratio_vs_studio_train": med["ratio_vs_default"],
              "throughput_ratio_same_threads": med["ratio_vs_same"],
              "lag_p50_ms": float(np.percentile(lag_arr, 50)),
              "lag_p99_ms": float(np.percentile(lag_arr, 99)),
              "lag_max_ms": float(lag_arr.max()), "lag_samples": len(lags),
              "largest_stall": worst, "largest_gui_cpu_stall": worst_cpu,
              "run_start_largest_stall": edges["start"],
              "run_end_largest_stall": edges["end"],
              "stalls_over_50ms": sorted((g for g in lags + others if g["lag_ms"] > 50),
                                         key=lambda g: -g["lag_ms"]),
              "gui_thread_cpu_share": med["gui_thread_cpu"],
              "gui_cpu_per_s_batches": med["gui_cpu_batches"],
              "throughput_ratio_probed": med["ratio_probed"],
              "per_round_gui_cpu_per_s_batches": _spread([r["gui_cpu_batches"] for r in rows]),
              "per_round": {k: _spread([row[k] for row in rows])
                            for k in ("lag_p99_ms", "lag_max_ms", "stall_cpu_max_ms",
                                      "edge_lag_max_ms", "edge_cpu_max_ms")},
              "load_average": os.getloadavg(),
              "targets": {"throughput_ratio": ">= 0.95", "lag_p99_ms": "<= 16",
                          "lag_max_ms": "<= 50"}}
    print()
    print_table(rows, ["round", "headless_default_s", "headless_same_s", "gui_samples_s",
                       "ratio", "ratio_vs_default", "ratio_vs_same", "ratio_probed",
                       "gui_thread_cpu", "gui_cpu_batches", "lag_p99_ms", "lag_max_ms", "stall_cpu_max_ms", "edge_lag_max_ms",
                       "edge_cpu_max_ms", "load_avg"])
    print("lag_*: while batches ran; stall_cpu_max_ms: the GUI thread's CPU in its most costly "
          "gap then (load-robust); edge_*: at the run's start and end")
    print()
    print("The training thread, µs per sample (GUI vs headless at the GUI's threads):")
    print_table(rows, ["round", *THREAD_COLUMNS])
    print()
    summary = ("throughput_ratio", "lag_p50_ms", "lag_p99_ms", "lag_max_ms", "lag_samples",
               "gui_thread_cpu_share")
    print_table([{k: result[k] for k in summary}], list(summary))
    for k, (med_k, lo, hi) in result["per_round"].items():
        print(f"{k} per round: median {med_k:.1f} [{lo:.1f}-{hi:.1f}]")
    print("gui_thread_cpu_share: CPU seconds of the GUI thread per second of GUI training "
          f"(median of the rounds; load-robust). Load average 1/5/15 min at the end: "
          f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("gui_cpu_batches: the same, only while batches ran (what slows the training thread)."
          "\nratio: the GUI run without the stall probe (its 200 wake-ups a second preempt "
          "the training thread); ratio_probed: the GUI run that measured the lag, against the "
          "faster headless setting of the round")
    if args.split:
        result["split"] = _split_table(splits)
        print("\nThe GUI thread's CPU while batches ran, by component (all rounds; ms per "
              "second of training):")
        print_table(result["split"], ["component", "ms_per_s", "calls_per_s", "us_per_call"])
    for title, gap in (("Largest stall while batches ran", worst),
                       ("Largest GUI-thread CPU in one stall while batches ran", worst_cpu),
                       ("Largest stall at a run's start (building, loading data)",
                        edges["start"]),
                       ("Largest stall at a run's end (weights adopted, insight shown)",
                        edges["end"])):
        if gap is not None:
            print(f"{title} (round {gap['round']}): {describe(gap)}")
    write_json("gui_overhead", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
