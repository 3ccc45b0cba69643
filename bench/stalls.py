"""The GUI thread's stalls and what ran in them. A precise 5 ms timer on the event loop
records each tick's wall time and the GUI thread's CPU time (a gap's CPU time is the GUI
thread's own work; the rest of its wall time is waiting for the GIL or a core, which a loaded
machine inflates). A watcher thread samples the GUI thread's Python stack while the loop has
not ticked for `stall_ms`, so the largest stall says what was running. The watcher wakes
every `poll_ms` only to read a clock; it takes a sample only during a stall."""
from __future__ import annotations

import collections
import itertools
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

ROOT = Path(__file__).resolve().parent.parent
OURS = ("studio", "engine", "bench")


def _where(frame) -> str:
    """'file:function' of a frame, the path from the project root or site-packages."""
    path = Path(frame.f_code.co_filename)
    parts = path.parts
    for anchor in ("site-packages", ROOT.name):
        if anchor in parts:
            parts = parts[len(parts) - parts[::-1].index(anchor):]
            break
    return f"{'/'.join(parts[-3:])}:{frame.f_code.co_name}"


def _ours(frame) -> bool:
    path = Path(frame.f_code.co_filename)
    return path.is_relative_to(ROOT) and path.relative_to(ROOT).parts[0] in OURS


def _stack(frame, depth: int = 5) -> str:
    """The innermost frames (up to `depth`), and the innermost frame of the project's own
    code if deeper; innermost first."""
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    shown = [_where(f) for f in frames[:depth]]
    own = next((f for f in frames if _ours(f)), None)
    if own is not None and own not in frames[:depth]:
        shown.append("… " + _where(own))
    return " < ".join(shown)


class StallProbe:
    """`start()`, `mark(name)` at phase changes (e.g. 'batches', 'end'), `stop()`; then
    `gaps()`: every interval between ticks with its lag (wall ms beyond the interval), the
    GUI thread's CPU ms in it, its phase and the stacks sampled during it."""

    def __init__(self, interval_ms: int = 5, stall_ms: float = 20.0, poll_ms: float = 10.0):
        self.interval_ms, self.stall_s, self.poll_s = interval_ms, stall_ms / 1000, poll_ms / 1000
        self.ticks: list[tuple[float, float]] = []           # (perf_counter, thread_time)
        self.samples: dict[int, collections.Counter] = {}    # tick index -> stacks
        self.marks: dict[str, float] = {}
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self._gui = threading.get_ident()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="stall-probe", daemon=True)

    def start(self) -> None:
        self.mark("start")
        self.timer.start()
        self._watcher.start()

    def stop(self) -> None:
        self.timer.stop()
        self._stop.set()
        self._watcher.join()

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.perf_counter())

    def _tick(self) -> None:
        self.ticks.append((time.perf_counter(), time.thread_time()))

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            if not self.ticks or time.perf_counter() - self.ticks[-1][0] < self.stall_s:
                continue
            frame = sys._current_frames().get(self._gui)
            if frame is not None:
                at = len(self.ticks) - 1
                self.samples.setdefault(at, collections.Counter())[_stack(frame)] += 1

    def phase(self, t0: float, t1: float) -> str:
        """The phase of an interval: 'end' if it ends after the 'end' mark (the stall in
        which the end was marked is the end's), else the last mark at or before its start."""
        if "end" in self.marks and t1 > self.marks["end"]:
            return "end"
        passed = [(at, name) for name, at in self.marks.items() if at <= t0]
        return max(passed)[1] if passed else "start"

    def gaps(self) -> list[dict]:
        t0 = self.marks.get("start", self.ticks[0][0] if self.ticks else 0.0)
        out = []
        for i, ((w0, c0), (w1, c1)) in enumerate(itertools.pairwise(self.ticks)):
            stacks = self.samples.get(i, collections.Counter())
            out.append({"lag_ms": max(0.0, (w1 - w0) * 1000 - self.interval_ms),
                        "gui_cpu_ms": (c1 - c0) * 1000, "at_s": w0 - t0,
                        "phase": self.phase(w0, w1), "samples": sum(stacks.values()),
                        "stacks": stacks.most_common(3)})
        return out


def describe(gap: dict) -> str:
    """One stall in words: its lag, its GUI-thread CPU, when, and what was running."""
    head = (f"{gap['lag_ms']:.0f} ms lag ({gap['gui_cpu_ms']:.0f} ms GUI-thread CPU), "
            f"{gap['phase']} phase, {gap['at_s']:.2f} s into the run")
    if not gap["stacks"]:
        return head + "; no stack sampled (too short, or the GUI thread was outside Python)"
    lines = [f"    {n}/{gap['samples']} samples: {stack}" for stack, n in gap["stacks"]]
    return head + "; the GUI thread was in:\n" + "\n".join(lines)
