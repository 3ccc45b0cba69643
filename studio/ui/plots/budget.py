"""Rate-limit repeated GUI-thread work (a plot's redraw and the paints it causes) by what it
was measured to cost, so that it never takes more than a set share of a core: on a loaded
machine, where software painting is several times slower, the work just runs less often."""
from __future__ import annotations

from time import monotonic, thread_time


class CostBudget:
    """`due()`: may the work run now? It may once `interval()` has passed since it last ran:
    its smoothed GUI-thread CPU cost divided by `share`, within [min_interval_s,
    max_interval_s]. Wrap the work in `with budget.run():`, and report the paints it causes
    later with `add(seconds)`: they count towards the run before them."""

    def __init__(self, share: float = 0.02, min_interval_s: float = 0.5,
                 max_interval_s: float = 5.0):
        self.share = share
        self.min_interval_s, self.max_interval_s = min_interval_s, max_interval_s
        self.cost_s = 0.0            # smoothed CPU seconds of one run and its paints
        self._current = 0.0          # CPU seconds of the latest run so far
        self._last = float("-inf")   # monotonic() when it last ran
        self._runs = 0

    def interval(self) -> float:
        return min(self.max_interval_s, max(self.min_interval_s, self.cost_s / self.share))

    def due(self) -> bool:
        return monotonic() - self._last >= self.interval()

    def wait(self) -> float:
        """Seconds until the work may run again (0: now)."""
        return max(0.0, self._last + self.interval() - monotonic())

    def add(self, seconds: float) -> None:
        self._current += seconds

    def run(self) -> _Run:
        """Starts a run: the previous run's cost (with its paints) is now complete."""
        if self._runs:
            # smoothed, but a costly run counts at once (a slow repaint means slow down now)
            self.cost_s = max(self._current, 0.5 * (self.cost_s + self._current))
        self._runs += 1
        self._current = 0.0
        self._last = monotonic()
        return _Run(self)


class _Run:
    def __init__(self, budget: CostBudget):
        self.budget = budget

    def __enter__(self) -> None:
        self._t0 = thread_time()

    def __exit__(self, *exc) -> None:
        self.budget.add(thread_time() - self._t0)
