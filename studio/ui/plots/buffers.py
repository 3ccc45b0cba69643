"""Growable preallocated (x, y) buffers for live curves: appends never reallocate per point."""
from __future__ import annotations

import itertools

import numpy as np

_VERSIONS = itertools.count()


class CurveBuffer:
    """x/y float64 arrays with capacity doubling; `x`/`y` are views of the filled part."""

    def __init__(self, capacity: int = 1024):
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.n = 0
        self.version = next(_VERSIONS)   # new on every change, unique across buffers
        self.generation = self.version   # new on every clear: the points drawn so far are gone

    def append(self, x: float, y: float) -> None:
        if self.n == len(self._x):
            self._x = np.concatenate([self._x, np.empty(len(self._x))])
            self._y = np.concatenate([self._y, np.empty(len(self._y))])
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1
        self.version = next(_VERSIONS)

    def clear(self) -> None:
        self.n = 0
        self.version = self.generation = next(_VERSIONS)

    @property
    def x(self) -> np.ndarray:
        return self._x[:self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[:self.n]


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard's smoothing)."""
    out = np.empty(len(values))
    acc, weight = 0.0, 0.0
    for i, v in enumerate(values):
        acc = alpha * acc + (1 - alpha) * v
        weight = alpha * weight + (1 - alpha)
        out[i] = acc / weight
    return out


class SmoothedBuffer(CurveBuffer):
    """A curve buffer that also keeps the EMA-smoothed y incrementally."""

    def __init__(self, capacity: int = 1024, alpha: float = 0.9):
        super().__init__(capacity)
        self.alpha = alpha
        self._s = np.empty(capacity)
        self._acc = 0.0
        self._w = 0.0

    def append(self, x: float, y: float) -> None:
        super().append(x, y)
        if len(self._s) < len(self._x):
            self._s = np.concatenate([self._s, np.empty(len(self._x) - len(self._s))])
        if np.isfinite(y):
            self._acc = self.alpha * self._acc + (1 - self.alpha) * y
            self._w = self.alpha * self._w + (1 - self.alpha)
        self._s[self.n - 1] = self._acc / self._w if self._w else y

    def clear(self) -> None:
        super().clear()
        self._acc = self._w = 0.0

    @property
    def smoothed(self) -> np.ndarray:
        return self._s[:self.n]
