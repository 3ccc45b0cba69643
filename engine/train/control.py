"""Commands to a running fit() from other threads: stop, pause, resume, step (one batch, then
pause again), watch nodes."""
from __future__ import annotations

import threading


class RunControl:
    """Thread-safe flags the training loop checks before every batch."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._watched: list[str] = []
        self._steps = 0               # batches allowed while paused (Step)
        #: nothing asked of the loop (no stop, pause or watched node): the one plain
        #: attribute the loop reads before each batch; the other checks only when False
        self.idle = True

    def _update(self) -> None:
        """Recompute `idle` (under the lock, so the last writer saw the last change)."""
        with self._lock:
            self.idle = not (self._stop.is_set() or self._pause.is_set() or self._watched)

    def stop(self) -> None:
        self._stop.set()
        self._update()
        self._wake.set()

    def pause(self) -> None:
        self._pause.set()
        self._update()

    def resume(self) -> None:
        with self._lock:
            self._steps = 0
        self._pause.clear()
        self._update()
        self._wake.set()

    def step(self) -> None:
        """Pause (if running) and allow exactly one more batch; each call allows one more."""
        with self._lock:
            self._steps += 1
        self._pause.set()
        self._update()
        self._wake.set()

    def take_step(self) -> bool:
        """Use up one batch allowed by step(); False when none is allowed."""
        with self._lock:
            if self._steps <= 0:
                return False
            self._steps -= 1
            return True

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def wait_while_paused(self) -> bool:
        """Block while paused and no step is allowed; False if stopped meanwhile."""
        while self._pause.is_set() and not self._stop.is_set() and not self._steps:
            self._wake.wait(0.05)
            self._wake.clear()
        return not self._stop.is_set()

    @property
    def watching(self) -> bool:
        """True when some node is watched (checked every batch, without the lock)."""
        return bool(self._watched)

    def watch(self, node_ids) -> None:
        with self._lock:
            self._watched = list(node_ids)
        self._update()

    def watched(self) -> list[str]:
        with self._lock:
            return list(self._watched)
