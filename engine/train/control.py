"""Commands to a running fit() from other threads: stop, pause, resume, watch nodes."""
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

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def wait_while_paused(self) -> bool:
        """Block while paused; False if stopped meanwhile."""
        while self._pause.is_set() and not self._stop.is_set():
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

    def watched(self) -> list[str]:
        with self._lock:
            return list(self._watched)
