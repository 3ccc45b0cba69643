"""Where the training thread's time goes, per sample: on a core (its CPU time), waiting for a
core (the run queue: another thread or process had it) and neither (asleep: waiting for the
GIL, a lock, a condition), from Linux's per-thread counters (/proc/self/task/TID/schedstat
and status). A trainer callback: it runs on the training thread and reads that thread's own
counters at the end of each epoch. Elsewhere only the CPU time is known.

    cost = ThreadCost(); trainer.add_callback(cost); trainer.fit(); cost.per_sample()
"""
from __future__ import annotations

import threading
import time


def _counters() -> tuple:
    """(wall s, thread CPU s, on-core s, run-queue s, voluntary, involuntary switches) of the
    calling thread; the schedstat fields are None where they cannot be read."""
    wall, cpu = time.perf_counter(), time.thread_time()
    task = f"/proc/self/task/{threading.get_native_id()}"
    try:
        with open(f"{task}/schedstat") as f:
            run_ns, wait_ns, _slices = (int(v) for v in f.read().split())
        switches = {}
        with open(f"{task}/status") as f:
            for line in f:
                if "ctxt_switches" in line:
                    key, value = line.split(":")
                    switches[key] = int(value)
        return (wall, cpu, run_ns / 1e9, wait_ns / 1e9,
                switches.get("voluntary_ctxt_switches"),
                switches.get("nonvoluntary_ctxt_switches"))
    except (OSError, ValueError):
        return wall, cpu, None, None, None, None


class ThreadCost:
    """A trainer callback: the epochs' rows and the training thread's counters at their end."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.marks: list[tuple] = []
        self.train_size = 0
        self.threads = 0

    def __call__(self, event) -> None:
        if event.kind == "started":
            import torch

            self.train_size = event.train_size
            self.threads = torch.get_num_threads()   # what this thread trains with
            self.marks = [_counters()]
        elif event.kind == "epoch":
            self.marks.append(_counters())
            self.rows.append(event.metrics)

    def per_sample(self, skip: int = 1) -> dict:
        """The torch threads it trained with, and microseconds per sample over the epochs
        after the first `skip` (warm-up): wall, cpu (the thread's CPU time), runq (waiting
        for a core), asleep (wall - on a core - run queue: the GIL, locks); and switches per
        sample (voluntary: it blocked; involuntary: it was preempted)."""
        if len(self.marks) < 2 or not self.train_size:
            return {}
        i = min(skip, len(self.marks) - 2)
        first, last = self.marks[i], self.marks[-1]
        samples = self.train_size * (len(self.marks) - 1 - i)
        d = [None if a is None or b is None else b - a for a, b in zip(first, last)]
        out = {"threads": self.threads, "wall_us": d[0] / samples * 1e6,
               "cpu_us": d[1] / samples * 1e6}
        if d[2] is not None:
            out["runq_us"] = d[3] / samples * 1e6
            out["asleep_us"] = (d[0] - d[2] - d[3]) / samples * 1e6
            out["vol_switches"] = d[4] / samples
            out["invol_switches"] = d[5] / samples
        return out
