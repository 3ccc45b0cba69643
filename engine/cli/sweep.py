"""`studio sweep FILE --trials N [--jobs J] [--storage URL] [--study NAME]`: search the
project's searched settings (its `sweep` section) with Optuna.

J local processes share one study; other machines join it by running the same command with
the same --storage (a database URL, or a journal file on a shared disk) and --study.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from .common import open_project, table


def register(sub) -> None:
    p = sub.add_parser("sweep", help="search training settings and layer parameters with "
                       "Optuna (the project's sweep section)")
    p.add_argument("file", help="a .nnproj project file with searched settings")
    p.add_argument("--trials", type=int, help="the study's total number of trials, shared by "
                   "every process and machine (default: sweep.trials)")
    p.add_argument("--jobs", "-j", type=int, default=1, help="processes on this machine")
    p.add_argument("--storage", help="an Optuna storage: a database URL "
                   "(postgresql+psycopg://user:pw@host/db, sqlite:///sweep.db) or a journal "
                   "file on a shared disk (default: <project>.runs/sweeps.journal)")
    p.add_argument("--study", help="study name (default: the project's file name)")
    p.add_argument("--epochs", type=int, help="epochs per trial (default: sweep.epochs, else "
                   "the training setting)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--show", action="store_true", help="print the study's trials and exit")
    p.add_argument("--apply-best", metavar="OUT", help="write a copy of the project with the "
                   "best trial's values to OUT and exit")
    p.add_argument("--force", action="store_true", help="with --apply-best: overwrite OUT")
    p.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..sweep.space import SweepError

    project = open_project(args.file)
    if project is None:
        return 1
    if args.jobs < 1 or (args.trials is not None and args.trials < 1):
        print("error: --jobs and --trials must be at least 1", file=sys.stderr)
        return 2
    try:
        if args.show:
            return show(project, args)
        if args.apply_best:
            return apply_best(project, args)
        if args.jobs > 1:
            return launch_jobs(project, args)
        return run_worker(project, args)
    except SweepError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 1


def _options(args):
    from ..sweep.runner import SweepOptions

    return SweepOptions(trials=args.trials, storage=args.storage, study=args.study,
                        epochs=args.epochs, device=args.device, worker=args.worker_index,
                        shared=bool(args.storage) or args.worker_index > 0)


def run_worker(project, args) -> int:
    from ..sweep.runner import run_trials
    from ..sweep.space import label_for
    from ..sweep.study import metric_of

    prefix = f"[{args.worker_index}] " if args.worker_index or args.jobs > 1 else ""
    metric = metric_of(project)

    def report(o) -> None:
        shown = "  ".join(f"{label_for(project, k)}={_fmt(v)}" for k, v in o.values.items())
        result = f"{metric} {_fmt(o.value)}" if o.value is not None else "-"
        where = f", {Path(o.run_dir).name}" if o.run_dir else ""
        note = f": {o.message}" if o.message and o.state == "failed" else ""
        print(f"{prefix}trial {o.number}  {shown}  ->  {result}  {o.state} "
              f"({o.epochs} epochs, {o.seconds:.1f} s{where}){note}", flush=True)

    from ..sweep.runner import SweepControl

    control = SweepControl()
    restore = _stop_on_signals(control.stop)
    try:
        outcomes = run_trials(project, _options(args), on_trial=report, control=control)
    finally:
        restore()
    if args.worker_index == 0 and args.jobs == 1:
        show(project, args)
    ran = [o for o in outcomes if o.state != "skipped"]
    return 0 if not ran or any(o.state in ("complete", "pruned") for o in ran) else 1


def launch_jobs(project, args) -> int:
    """Run `args.jobs` worker processes on this machine, then print the study."""
    from ..sweep.runner import prepare

    prepare(project, _options(args))   # create the study (and its baseline) once
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    procs = []
    for k in range(args.jobs):
        cmd = [sys.executable, "-m", "engine.cli", "sweep", args.file, "--jobs", "1",
               "--worker-index", str(k + 1), "--device", args.device]
        for flag, value in (("--trials", args.trials), ("--storage", args.storage),
                            ("--study", args.study), ("--epochs", args.epochs)):
            if value is not None:
                cmd += [flag, str(value)]
        procs.append(subprocess.Popen(cmd, env=env))

    def stop_workers():
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
    restore = _stop_on_signals(stop_workers)
    try:
        codes = [p.wait() for p in procs]
    finally:
        restore()
    show(project, args)
    return 0 if any(c == 0 for c in codes) else 1


def _stop_on_signals(stop):
    """Ctrl+C or SIGTERM (the app's Stop button): stop after the current batch, tell the
    study, exit. Returns a function restoring the old handlers."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        print("stopping: the running trial ends after this batch", file=sys.stderr,
              flush=True)
        stop()
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    return lambda: [signal.signal(sig, h) for sig, h in old.items()]


def show(project, args) -> int:
    from ..sweep.results import records, value_text
    from ..sweep.space import label_for, space
    from ..sweep.study import default_storage, default_study_name, load_study

    storage = args.storage or default_storage(project)
    study = load_study(storage, args.study or default_study_name(project))
    dims = space(project)
    view = records(study, dims)
    keys = [d.key for d in dims]
    best = view.best
    order = sorted(view.trials, key=lambda t: (t.value is None, (t.value or 0) *
                                               (1 if view.minimize else -1)))
    rows = [[("* " if best is not None and t.number == best.number else "  ") +
             str(t.number), t.state, *[value_text(t.values.get(k, "")) for k in keys],
             value_text(t.value) if t.value is not None else "-",
             f"{t.params:,}" if t.params is not None else "-", t.run or "-"]
            for t in order]
    header = ["trial", "state", *[label_for(project, k) for k in keys], view.metric,
              "params", "run"]
    print(f"\nstudy {view.name}: " + ", ".join(f"{n} {s}" for s, n in
                                              sorted(view.counts().items())))
    if rows:
        print(table(rows, header))
    if best is not None:
        shown = ", ".join(f"{label_for(project, k)}={value_text(v)}"
                          for k, v in best.values.items())
        print(f"best: trial {best.number}, {view.metric} {value_text(best.value)} ({shown})")
    return 0


def apply_best(project, args) -> int:
    from ..guard.overwrite import OverwriteError, check_output
    from ..project import save_project
    from ..sweep.results import records
    from ..sweep.space import apply_values, space
    from ..sweep.study import default_storage, default_study_name, load_study
    from .common import error

    out = Path(args.apply_best)
    try:
        check_output(out, force=args.force, what="--apply-best output")
    except OverwriteError as exc:
        return error(exc)
    study = load_study(args.storage or default_storage(project),
                       args.study or default_study_name(project))
    dims = space(project)
    best = records(study, dims).best
    if best is None:
        print("error: the study has no complete trial yet", file=sys.stderr)
        return 1
    updated = apply_values(project, {k: v for k, v in best.values.items()
                                     if k in {d.key for d in dims}})
    updated.graph.weights = {}
    save_project(updated, out)
    print(f"wrote {out} with the values of trial {best.number}")
    return 0


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
