"""Training cost of the Trainer (what `studio train` runs) vs. a hand-written PyTorch loop.

Same model (the example's compiled graph, same seed), same data (the tensors the Trainer
trains on, on the device), same batch size and shuffling. The Trainer does its usual work
(training metrics, batch events with gradient norms, end-of-epoch rows) but has no
validation split, so no side evaluates one. Two hand-written loops (bench/hand_loop.py):
"hand" trains only; "hand_metrics" also computes the training metrics the Trainer reports,
as a careful PyTorch user would. Target: Trainer / hand-written >= 0.97.

Three ways to measure, because on a shared machine wall clock alone cannot tell 3 %:
  default         interleaved short rounds (the order alternates), wall clock AND process CPU
                  time per sample; medians, min-max spread, and the best round of each side.
  --instructions  instructions executed per sample, counted by valgrind's callgrind over the
                  training epochs only (after a warm-up epoch): deterministic, load-free.
                  Batch events are spaced by wall clock in a real run; callgrind runs code
                  ~50x slower, so the counted Trainer gets a clock that advances by a real
                  step's duration per step (measured first outside callgrind, the fastest of
                  a few runs, or --step-seconds): it emits the events a real run would.
  --load N        N busy-looping processes keep cores busy while the Trainer runs with torch's
                  default thread count and with the count Studio chooses (engine.threads).
--tensorboard adds the sides "trainer_dir" (a run folder: metrics and checkpoints every
epoch) and "trainer_tb" (the same with TensorBoard logs, the default of `studio train`), to
show what recording costs.
Run: python -m bench.train_throughput [--examples digits_cnn,digits_mlp,lstm_sequence]
     [--rounds 8] [--epochs 2] [--instructions [--step-seconds S]] [--load 1] [--tensorboard]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.common import busy, print_table, stop_busy, write_json
from bench.hand_loop import LOSSES, describe, run_hand, run_hand_metrics
from engine.examples import example_path
from engine.project import load_project
from engine.train.trainer import Trainer

EXAMPLES = "digits_cnn,digits_mlp,lstm_sequence"
TRAINER_DOES = ("trainer: Trainer.fit() as `studio train --no-save` runs it: the loss and the "
                "training metrics of every epoch, batch events (coalesced to one per 0.1 s) "
                "with gradient norms, NaN checks, pause/stop checks; no validation split")


class Case:
    """One example, loaded once: its project (no validation/test split) and the tensors the
    Trainer trains on."""

    def __init__(self, name: str):
        self.name = name
        self.project = load_project(example_path(name), weights=False)
        self.project.dataset.update({"val_split": 0.0, "test_split": 0.0})
        self.project.path = None
        self.loss = self.project.training.get("loss", "cross_entropy")
        if self.loss not in LOSSES:
            raise SystemExit(f"{name}: the hand-written loop covers {', '.join(LOSSES)}")
        probe = Trainer(self.project, "cpu", run_dir=False, epochs=1)
        probe.setup()
        self.data = probe.splits
        self.x, self.y = probe.state.train_data.x, probe.state.train_data.ys[0]
        self.metrics = list(probe.state.metric_names)   # what the Trainer reports per epoch
        self.hand_rows: list[dict] = []     # the last hand_metrics run's epochs
        self.trainer_rows: list[dict] = []  # the last Trainer run's history
        self.batch_size = probe.config["batch_size"]
        self.overrides: dict = {}   # training settings for the Trainer sides
        self.step_seconds: float | None = None  # see real_clock()
        self.events = 0             # batch events the last Trainer run emitted


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start) -> tuple[float, float]:
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


def trainer_run(case: Case, epochs: int, run_dir=False):
    trainer = Trainer(case.project, "cpu", [lambda e: count_batch_event(case, e)],
                      data=case.data, run_dir=run_dir, epochs=epochs, **case.overrides)
    trainer.setup()
    if case.step_seconds is not None:
        trainer.clock = real_clock(trainer, case.step_seconds)
    return trainer


def count_batch_event(case: Case, event) -> None:
    case.events += event.kind == "batch"


def real_clock(trainer: Trainer, step_seconds: float):
    """A clock for the Trainer's event spacing that reads as if each step took
    `step_seconds`: under callgrind the events come at the steps a real run has them."""
    progress = trainer.progress
    return lambda: progress.global_step * step_seconds


def run_trainer(case: Case, epochs: int, measure=None, run_dir=False) -> int:
    trainer = trainer_run(case, epochs, run_dir)
    case.events = 0
    with measure or _nothing():
        result = trainer.fit()
    assert result.status == "completed", result.error
    case.trainer_rows = result.history
    return len(case.x) * epochs


def steps_of(case: Case, epochs: int) -> int:
    return epochs * -(-len(case.x) // case.batch_size)


def real_step_seconds(case: Case, runs: int = 5) -> float:
    """Wall seconds per step of the Trainer in a real run here: the fastest of `runs`
    one-epoch runs (the nearest to a quiet machine), after a warm-up."""
    run_trainer(case, 1)
    best = float("inf")
    for _ in range(runs):
        t = Timed()
        run_trainer(case, 1, t)
        best = min(best, t.wall)
    return best / steps_of(case, 1)


def run_trainer_tb(case: Case, epochs: int, measure=None, tensorboard=True) -> int:
    """The Trainer as `studio train` runs it: a run folder (checkpoints each epoch) with
    TensorBoard logs."""
    folder = tempfile.mkdtemp(prefix="bench-run-")
    case.project.training["tensorboard"] = tensorboard
    try:
        return run_trainer(case, epochs, measure, run_dir=folder)
    finally:
        case.project.training.pop("tensorboard")
        shutil.rmtree(folder, ignore_errors=True)


def run_trainer_dir(case: Case, epochs: int, measure=None) -> int:
    """A run folder without TensorBoard logs."""
    return run_trainer_tb(case, epochs, measure, tensorboard=False)


SIDES = {"trainer": run_trainer, "hand": run_hand, "hand_metrics": run_hand_metrics,
         "trainer_dir": run_trainer_dir, "trainer_tb": run_trainer_tb}
BASES = ("hand", "hand_metrics")   # the hand-written sides every Trainer side is compared with


def same_metrics(case: Case, epochs: int = 2) -> str:
    """Checks that hand_metrics trains as the Trainer does and computes what it reports
    (same seed, same schedule: the same training), and says so."""
    run_trainer(case, epochs)
    run_hand_metrics(case, epochs)
    for trainer, hand in zip(case.trainer_rows, case.hand_rows, strict=True):
        for name, value in hand.items():
            if abs(trainer[name] - value) > 1e-9 * max(1.0, abs(value)):
                raise SystemExit(f"{case.name}: hand_metrics' {name} {value!r} in epoch "
                                 f"{trainer['epoch']} differs from the Trainer's "
                                 f"{trainer[name]!r}")
    return (f"{case.name}: hand_metrics reports {', '.join(case.hand_rows[0])} equal to the "
            f"Trainer's over {epochs} epochs")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Timed:
    """Wall clock and process CPU time of the block."""

    def __enter__(self):
        self.start = clocks()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = since(self.start)
        return False


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


# -- interleaved rounds -------------------------------------------------------------------------
def pairs(sides: list[str]) -> list[tuple[str, str]]:
    """(Trainer side, hand side) for every ratio reported."""
    return [(s, b) for s in sides if s not in BASES for b in BASES if b in sides]


def rounds(case: Case, sides: list[str], n_rounds: int, epochs: int) -> dict:
    print(same_metrics(case))
    for side in sides:  # warm-up
        SIDES[side](case, 1)
    rows = []
    for r in range(n_rounds):
        order = sides[r % len(sides):] + sides[:r % len(sides)]  # rotate who goes first
        row: dict = {"round": r + 1}
        for side in order:
            t = Timed()
            n = SIDES[side](case, epochs, t)
            row[f"{side}_wall_us"] = t.wall / n * 1e6
            row[f"{side}_cpu_us"] = t.cpu / n * 1e6
        for side, base in pairs(sides):
            for k in ("wall", "cpu"):
                row[f"{side}/{base}_{k}"] = row[f"{base}_{k}_us"] / row[f"{side}_{k}_us"]
        rows.append(row)
    print(f"\n{case.name}: {len(case.x)} samples, batch {case.batch_size}, {epochs} epochs "
          f"per run, {torch.get_num_threads()} thread(s); microseconds per sample")
    cols = ["round"] + [f"{s}_{k}_us" for s in sides for k in ("wall", "cpu")] + \
        [f"{s}/{b}_cpu" for s, b in pairs(sides)]
    print_table(rows, cols)
    summary: dict = {"rounds": rows, "load_average": os.getloadavg()}
    for side, base in pairs(sides):
        for k in ("wall", "cpu"):
            ratios = [r[f"{side}/{base}_{k}"] for r in rows]
            best = min(r[f"{base}_{k}_us"] for r in rows) / min(r[f"{side}_{k}_us"] for r in rows)
            summary[f"{side}/{base}_{k}"] = {"median": statistics.median(ratios),
                                             "min": min(ratios), "max": max(ratios),
                                             "best_round_each": best}
            print(f"  {side} / {base}, {k:4s}: median [min-max] of rounds {spread(ratios)}, "
                  f"best round each {best:.3f}")
    print(f"  load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return summary


# -- instruction counts -------------------------------------------------------------------------
class Callgrind:
    """Counts instructions of the block when this process runs under
    `valgrind --tool=callgrind --instr-atstart=no` (toggled with callgrind_control)."""

    def _toggle(self, flag: str) -> None:
        subprocess.run(["callgrind_control", "-i", flag, str(os.getpid())], check=True,
                       capture_output=True)

    def __enter__(self):
        self._toggle("on")
        return self

    def __exit__(self, *exc):
        self._toggle("off")
        return False


def child(side: str, example: str, epochs: int, step_seconds: float) -> None:
    case = Case(example)
    case.step_seconds = step_seconds
    SIDES[side](case, 1)  # warm-up, not counted
    n = SIDES[side](case, epochs, Callgrind())
    print(f"SAMPLES {n} EVENTS {case.events}")


def count_instructions(side: str, example: str, epochs: int,
                       step_seconds: float) -> tuple[float, int]:
    """(instructions per training sample, batch events) of `side` on `example`."""
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
           sys.executable, "-m", "bench.train_throughput", "--child", side,
           "--examples", example, "--epochs", str(epochs),
           "--step-seconds", repr(step_seconds)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    got = re.search(r"Collected : (\d+)", done.stderr)
    samples = re.search(r"SAMPLES (\d+) EVENTS (\d+)", done.stdout)
    if done.returncode or not got or not samples:
        raise SystemExit(f"callgrind run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(got.group(1)) / int(samples.group(1)), int(samples.group(2))


def instructions(examples: list[str], sides: list[str], epochs: int,
                 step_seconds: float | None) -> dict:
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("--instructions needs valgrind (callgrind)")
    rows = []
    for ex in examples:
        case = Case(ex)
        step_s = step_seconds or real_step_seconds(case)
        row: dict = {"example": ex, "steps": steps_of(case, epochs), "step_ms": step_s * 1e3}
        for side in sides:
            row[f"{side}_instr_per_sample"], events = count_instructions(side, ex, epochs,
                                                                         step_s)
            if side not in BASES:
                row[f"{side}_events"] = events
        for side, base in pairs(sides):
            row[f"{side}/{base}"] = (row[f"{base}_instr_per_sample"] /
                                     row[f"{side}_instr_per_sample"])
        rows.append(row)
        print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in row.items()), flush=True)   # each example when done
    print(f"\ninstructions per training sample (callgrind, {epochs} epochs after a warm-up, "
          f"1 thread); batch events spaced as in a real run whose steps take step_ms")
    print_table(rows, ["example", "steps", "step_ms"] +
                [f"{s}_instr_per_sample" for s in sides] +
                [f"{s}_events" for s in sides if s not in BASES] +
                [f"{s}/{b}" for s, b in pairs(sides)])
    return {"instructions": rows}


# -- other load on the machine ------------------------------------------------------------------
def under_load(case: Case, load: int, n_rounds: int, epochs: int) -> dict:
    from engine.threads import choose_threads

    default = torch.get_num_threads()
    procs = busy(load)
    try:
        time.sleep(0.5)
        chosen = choose_threads()
        rows = []
        settings = [("default", default), ("chosen", chosen)]
        for r in range(n_rounds):
            row: dict = {"round": r + 1}
            for name, threads in settings[r % 2:] + settings[:r % 2]:
                torch.set_num_threads(threads)
                t = Timed()
                n = run_trainer(case, epochs, t)
                row[f"{name}_samples_s"] = n / t.wall
            rows.append(row)
    finally:
        stop_busy(procs)
        torch.set_num_threads(default)
    print(f"\n{case.name} with {load} busy process(es): torch default {default} thread(s), "
          f"chosen {chosen}; samples/s")
    print_table(rows, ["round", "default_samples_s", "chosen_samples_s"])
    med = {k: statistics.median(r[f"{k}_samples_s"] for r in rows) for k in ("default", "chosen")}
    print(f"  median samples/s: default {med['default']:.0f}, chosen {med['chosen']:.0f} "
          f"(x{med['chosen'] / med['default']:.2f})")
    return {"load": load, "default_threads": default, "chosen_threads": chosen, "rounds": rows,
            "median_default_samples_s": med["default"], "median_chosen_samples_s": med["chosen"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", default=EXAMPLES)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--instructions", action="store_true")
    ap.add_argument("--tensorboard", action="store_true")
    ap.add_argument("--load", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--step-seconds", type=float,
                    help="--instructions: space batch events as if each Trainer step took "
                         "this long (default: measured here, the fastest of 5 one-epoch runs)")
    args = ap.parse_args(argv)
    examples = args.examples.split(",")
    if args.child:
        torch.set_num_threads(1)
        return child(args.child, examples[0], args.epochs, args.step_seconds)
    if args.load:
        out = {ex: under_load(Case(ex), args.load, args.rounds, args.epochs) for ex in examples}
        write_json(f"train_throughput_load{args.load}", out)
        return
    torch.set_num_threads(args.threads)
    sides = ["hand", "hand_metrics", "trainer"] + \
        (["trainer_dir", "trainer_tb"] if args.tensorboard else [])
    print(f"{TRAINER_DOES}.\n{describe()}")
    if args.instructions:
        write_json("train_throughput_instructions",
                   instructions(examples, sides, args.epochs, args.step_seconds))
        return
    out = {ex: rounds(Case(ex), sides, args.rounds, args.epochs) for ex in examples}
    write_json("train_throughput", {"threads": args.threads, "epochs": args.epochs, **out})


if __name__ == "__main__":
    main()
