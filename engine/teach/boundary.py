"""Decision regions of a model whose input is one pair of numbers (x1, x2): the model's
output on a grid over the input plane, as class probabilities per grid cell (a regression
model's output value instead). BoundaryWatcher recomputes them while a run trains, from a
trainer callback, at a capped rate and share of the training time."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

CLASSIFIER_LOSSES = ("cross_entropy", "bce_with_logits", "bce", "hinge")


@dataclass(frozen=True)
class Plane:
    """The part of the input plane drawn: [x_min, x_max] × [y_min, y_max] in `size` × `size`
    cells (cell centres are the grid points)."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    size: int = 64

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """The grid's x and y coordinates (cell centres), each of length `size`."""
        n = self.size
        dx, dy = (self.x_max - self.x_min) / n, (self.y_max - self.y_min) / n
        return (self.x_min + dx * (np.arange(n) + 0.5),
                self.y_min + dy * (np.arange(n) + 0.5))

    def points(self) -> np.ndarray:
        """(size*size, 2) float32 grid points, row-major: row i is y index i."""
        xs, ys = self.axes()
        gx, gy = np.meshgrid(xs, ys)
        return np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)

    def cell_of(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of the cell holding each (x1, x2) point (clipped to the plane)."""
        p = np.asarray(points, np.float64).reshape(-1, 2)
        col = (p[:, 0] - self.x_min) / (self.x_max - self.x_min) * self.size
        row = (p[:, 1] - self.y_min) / (self.y_max - self.y_min) * self.size
        clip = lambda a: np.clip(a.astype(int), 0, self.size - 1)   # noqa: E731
        return clip(row), clip(col)


def plane_for(points: np.ndarray, margin: float = 0.15, size: int = 64) -> Plane:
    """A square-celled plane around `points` ((n, 2)), `margin` of their extent added on each
    side (a unit square around a single point or none)."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    p = p[np.isfinite(p).all(axis=1)]
    if not len(p):
        return Plane(-1.0, 1.0, -1.0, 1.0, size)
    lo, hi = p.min(axis=0), p.max(axis=0)
    span = max(float((hi - lo).max()), 1e-6)
    centre = (lo + hi) / 2
    half = span * (0.5 + margin)
    return Plane(float(centre[0] - half), float(centre[0] + half),
                 float(centre[1] - half), float(centre[1] + half), size)


@dataclass
class Regions:
    """The model's answer over a plane. kind 'classes': `values` (size, size, classes) are
    class probabilities (a binary output gives two: 1 - p and p); kind 'value': (size, size, 1)
    the output itself (regression). `step` is the training step they were computed at."""

    plane: Plane
    values: np.ndarray
    kind: str = "classes"
    step: int | None = None

    @property
    def labels(self) -> np.ndarray:
        """(size, size) predicted class per cell (kind 'classes')."""
        return self.values.argmax(axis=2)

    def predict(self, points: np.ndarray) -> np.ndarray:
        """The predicted class of the cell under each point."""
        row, col = self.plane.cell_of(points)
        return self.labels[row, col]


def two_d_input(graph) -> str | None:
    """Why the decision-boundary view cannot draw this model (None: it can): it needs exactly
    one float Input holding a pair of numbers."""
    inputs = [n for n in graph.nodes.values() if n.type == "io.Input"]
    if len(inputs) != 1:
        return "the decision regions need a model with exactly one Input"
    params = inputs[0].params
    shape = [int(s) for s in params.get("shape", [])]
    if params.get("dtype", "float") != "float" or shape != [2]:
        return (f"the decision regions need an Input of 2 numbers (x1, x2); this model's "
                f"Input takes {tuple(shape)}")
    return None


def as_regions(outputs: np.ndarray, loss: str, plane: Plane, step: int | None = None) -> Regions:
    """The raw outputs of the plane's grid points as Regions, read the way `loss` trains
    them: logits through a softmax or a sigmoid, 'bce' outputs as probabilities already."""
    n = plane.size
    out = np.asarray(outputs, np.float64).reshape(n * n, -1)
    if loss not in CLASSIFIER_LOSSES:
        return Regions(plane, out[:, :1].reshape(n, n, 1).astype(np.float32), "value", step)
    if out.shape[1] > 1:                                  # one unit per class
        z = out - out.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs = e / e.sum(axis=1, keepdims=True)
    else:
        z = out[:, 0]
        if loss == "bce":
            p = np.clip(z, 0.0, 1.0)
        elif loss == "hinge":                             # the sign decides: -1 | +1
            p = 1 / (1 + np.exp(-2 * z))
        else:
            p = 1 / (1 + np.exp(-np.clip(z, -60, 60)))
        probs = np.column_stack([1 - p, p])
    return Regions(plane, probs.reshape(n, n, -1).astype(np.float32), "classes", step)


def decision_regions(model, plane: Plane, loss: str, step: int | None = None) -> Regions:
    """Run `model` (an nn.Module taking (N, 2) inputs) on the plane's grid in eval mode
    (its train/eval mode is restored) and read the first output as `loss` trains it."""
    from ..insight import run_model

    outputs, _ = run_model(model, plane.points(), batch=8192)
    return as_regions(outputs, loss, plane, step)


class BoundaryWatcher:
    """A trainer callback that sends `sink(Regions)` while a run trains: after a batch or an
    epoch at most every `interval_s` and never taking more than `budget` of the time (a slow
    model is drawn less often), and always at a pause (each Step) and at the end.

    `model_of()` returns the model being trained (None before it exists); `loss` names how
    its first output is read (see as_regions). Set `enabled` False to skip the work (the view
    is hidden)."""

    def __init__(self, model_of: Callable[[], object], plane: Plane, loss: str,
                 sink: Callable[[Regions], None], interval_s: float = 0.1,
                 budget: float = 0.1):
        self.model_of, self.plane, self.loss, self.sink = model_of, plane, loss, sink
        self.interval_s, self.budget = interval_s, budget
        self.enabled = True
        self.frames = 0
        self._next = 0.0

    def __call__(self, event) -> None:
        kind = getattr(event, "kind", "")
        if not self.enabled or kind not in ("batch", "epoch", "paused", "finished"):
            return
        now = time.monotonic()
        if kind in ("batch", "epoch") and now < self._next:
            return
        model = self.model_of()
        if model is None:
            return
        frame = self.compute(model, getattr(event, "global_step", None))
        spent = time.monotonic() - now
        self._next = time.monotonic() + max(self.interval_s, spent / self.budget)
        self.frames += 1
        self.sink(frame)

    def compute(self, model, step: int | None):
        """The frame sent to the sink (subclasses draw other pictures at the same pace)."""
        return decision_regions(model, self.plane, self.loss, step)
