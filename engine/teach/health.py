"""Health warnings while a network trains: a ReLU layer whose units are all dead, vanishing or
exploding gradients, saturating sigmoids and tanhs. Each warning names a node and says in one
sentence what it means and what to try.

Gradients come from what training already reports (the GradNorms event at every batch event);
activations from one forward pass over the first validation samples, run between batches at
most every `interval_s` seconds and within a small share of the training time
(HealthMonitor, a trainer callback). The checks themselves are plain functions over numbers,
tested on constructed models."""
from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from warnings import warn

import numpy as np

DEAD_TYPES = ("act.ReLU", "act.ReLU6")
SQUASH_TYPES = {"act.Sigmoid": "sigmoid", "act.Tanh": "tanh"}
VANISHING_RATIO = 1e-4     # a layer's gradient (per weight) against the strongest layer's
EXPLODING_NORM = 1e4       # a layer's gradient norm this large explodes outright
EXPLODING_GROWTH = 100    # ... or grown this much since the run's first reports
EXPLODING_FLOOR = 10.0     # (and at least this large: a tiny norm may grow as learning starts)
SATURATED_SHARE = 0.9      # share of a squashing unit's outputs on its flat tails
SIGMOID_TAIL = 0.02        # sigmoid outputs within this of 0 or 1 (slope < 0.02)
TANH_TAIL = 0.04           # tanh outputs within this of -1 or 1 (slope < 0.08)
WINDOW = 5                 # gradient reports the verdict is taken over (median)
PUBLISH_S = 0.5            # the warnings are worked out at most this often (and at the end)


@dataclass(frozen=True)
class HealthWarning:
    """One problem of one node while training. kind: 'dead_relu' | 'vanishing' |
    'exploding' | 'saturated'."""

    node_id: str
    kind: str
    message: str


def unit_axis(ndim: int) -> int:
    """The axis of a tensor (batch first) that holds its units: features of (n, F), channels
    of (n, C, ...), the last axis of a sequence (n, T, F)."""
    return 2 if ndim == 3 else 1


def dead_units(a: np.ndarray) -> tuple[int, int]:
    """(dead, total) units of a ReLU's output `a` (batch first): a unit is dead when it is 0
    for every sample (and position)."""
    a = np.asarray(a)
    if a.ndim < 2:
        return 0, 0
    axis = unit_axis(a.ndim)
    per_unit = np.moveaxis(a, axis, 0).reshape(a.shape[axis], -1)
    return int((per_unit == 0).all(axis=1).sum()), int(a.shape[axis])


def saturated_share(a: np.ndarray, kind: str) -> float:
    """The share of a sigmoid's (or tanh's) outputs on its flat tails, where the slope and
    so the gradient through it are almost zero."""
    a = np.asarray(a, np.float64)
    if not a.size:
        return 0.0
    if kind == "sigmoid":
        flat = (a < SIGMOID_TAIL) | (a > 1 - SIGMOID_TAIL)
    else:
        flat = np.abs(a) > 1 - TANH_TAIL
    return float(flat.mean())


def activation_warnings(outputs: dict[str, np.ndarray], graph) -> list[HealthWarning]:
    """Warnings from the outputs of activation nodes ({node_id: array, batch first}) on the
    same inputs. A sigmoid or tanh that feeds an Output is the prediction, whose saturation
    means confidence, and is not checked."""
    warnings = []
    for nid, a in outputs.items():
        node = graph.nodes.get(nid)
        if node is None:
            continue
        if node.type in DEAD_TYPES:
            dead, total = dead_units(a)
            if total and dead == total:
                warnings.append(HealthWarning(nid, "dead_relu", (
                    f"All {total} units of {node.name} output 0 for every validation sample "
                    "(dead ReLUs), so no gradient flows back through it and the layers "
                    "before it stop learning: try a lower learning rate, LeakyReLU, or "
                    "BatchNorm before it.")))
        elif node.type in SQUASH_TYPES and not _feeds_output(graph, nid):
            kind = SQUASH_TYPES[node.type]
            share = saturated_share(a, kind)
            if share >= SATURATED_SHARE:
                ends = "0 or 1" if kind == "sigmoid" else "-1 or 1"
                warnings.append(HealthWarning(nid, "saturated", (
                    f"{share:.0%} of {node.name}'s outputs sit at {ends}, where the {kind} "
                    "is flat and passes almost no gradient (saturated): try ReLU, smaller "
                    "initial weights, inputs scaled to mean 0, or BatchNorm before it.")))
    return warnings


def _feeds_output(graph, nid: str) -> bool:
    return any(graph.nodes[e.dst].type == "io.Output" for e in graph.edges if e.src == nid)


def gradient_warnings(recent: list[dict[str, float]], sizes: dict[str, int], graph,
                      first: list[dict[str, float]] = ()) -> list[HealthWarning]:
    """Warnings from a run's latest gradient reports `recent` ({node_id: L2 norm of its
    gradients}, oldest first; their median decides, so one odd batch neither raises nor
    clears a warning) and its `first` reports (the baseline for growth). Vanishing compares
    each layer's root-mean-square gradient per weight (norm / sqrt(`sizes[node]`)) with the
    strongest layer's; exploding is a norm that is not finite, above EXPLODING_NORM, or
    EXPLODING_GROWTH times its median in the first reports."""
    recent = [r for r in recent if r]
    if not recent:
        return []
    names = {nid: graph.nodes[nid].name for nid in recent[-1] if nid in graph.nodes}
    rms = {nid: _median([_rms(r.get(nid), sizes.get(nid, 1)) for r in recent])
           for nid in names}
    warnings, exploded = [], set()
    for nid, name in names.items():
        now = _median([r.get(nid, float("nan")) for r in recent])
        start = _median([r.get(nid, float("nan")) for r in first])
        grown = math.isfinite(now) and start > 0 and now > EXPLODING_GROWTH * start \
            and now > EXPLODING_FLOOR
        if not math.isfinite(now) or now > EXPLODING_NORM or grown:
            exploded.add(nid)
            size = f"{now:.3g}" if math.isfinite(now) else "not a finite number"
            growth = f" ({now / start:,.0f}× its start)" if grown else ""
            warnings.append(HealthWarning(nid, "exploding", (
                f"Exploding gradients: {name}'s gradient norm is {size}{growth}, so each "
                "update overshoots: lower the learning rate or set gradient clipping in the "
                "training settings.")))
    # vanishing: against the strongest layer that has not exploded
    finite = {nid: v for nid, v in rms.items()
              if math.isfinite(v) and v > 0 and nid not in exploded}
    strongest = max(finite.values(), default=0.0)
    for nid, name in names.items():
        ratio = rms[nid] / strongest if strongest > 0 and nid in finite else 1.0
        if len(finite) >= 2 and ratio < VANISHING_RATIO:
            warnings.append(HealthWarning(nid, "vanishing", (
                f"Vanishing gradients: {name}'s gradients are {_power(ratio)} of the "
                "strongest layer's, so it barely learns: try ReLU instead of sigmoid or "
                "tanh, BatchNorm, residual connections or fewer layers.")))
    return warnings


def _rms(norm: float | None, size: int) -> float:
    if norm is None:
        return float("nan")
    return norm / math.sqrt(max(size, 1))


def _median(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(statistics.median(finite)) if finite else float("nan")


def _power(ratio: float) -> str:
    """1.3e-06 -> '~10⁻⁶'."""
    exponent = round(math.log10(ratio)) if ratio > 0 else -99
    digits = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"~10{digits}"


def checked_nodes(graph) -> list[str]:
    """The activation nodes whose outputs the checks read."""
    return [nid for nid, n in graph.nodes.items()
            if n.type in DEAD_TYPES or n.type in SQUASH_TYPES]


def node_outputs(model, node_modules: dict, node_ids: list[str], x) -> dict[str, np.ndarray]:
    """The outputs of `node_ids` for inputs `x` (a tensor on the model's device) in eval mode
    without gradients; the model's mode is restored."""
    import torch

    captured: dict[str, np.ndarray] = {}
    hooks = []
    for nid in node_ids:
        module = node_modules.get(nid)
        if module is not None:
            hooks.append(module.register_forward_hook(
                lambda _m, _a, out, nid=nid: captured.__setitem__(
                    nid, (out[0] if isinstance(out, tuple) else out).detach().float()
                    .cpu().numpy())))
    if not hooks:
        return {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return captured


class HealthMonitor:
    """A trainer callback that calls `sink(list[HealthWarning])` whenever the warnings of a
    run change (an empty list: they cleared). `state_of()` returns the trainer's TrainState
    (None before it exists). Gradient reports are read from GradNorms events (and, after an
    epoch without one, from the last step's gradients); the activation checks run on the
    first `samples` validation inputs (training inputs without a validation split) after a
    batch or epoch at most every `interval_s` seconds and within `budget` of the time; the
    warnings are worked out at most every `publish_s` seconds; both always at a pause (Step)
    and at the end of the run."""

    def __init__(self, state_of: Callable[[], object], graph,
                 sink: Callable[[list[HealthWarning]], None], samples: int = 256,
                 interval_s: float = 1.0, budget: float = 0.02, publish_s: float = PUBLISH_S):
        self.state_of, self.graph, self.sink = state_of, graph, sink
        self.samples, self.interval_s, self.budget = samples, interval_s, budget
        self.publish_s = publish_s
        self.first: list[dict] = []                 # the run's first gradient reports
        self.recent: deque = deque(maxlen=WINDOW)   # its latest
        self.watched = checked_nodes(graph)
        self._sizes: dict[str, int] | None = None
        self._x = None
        self._act: list[HealthWarning] = []
        self._sent: list[HealthWarning] | None = None
        self._next = 0.0
        self._next_publish = 0.0
        self._fresh_norms = False

    def _add_norms(self, norms: dict) -> None:
        if len(self.first) < WINDOW:
            self.first.append(dict(norms))
        self.recent.append(dict(norms))
        self._fresh_norms = True

    def _norms_of_last_step(self) -> None:
        state = self.state_of()
        if state is not None and state.node_params:
            from ..train.weights import grad_norms

            norms = grad_norms(state.node_params)
            if norms:
                self._add_norms(norms)

    broken = False

    def __call__(self, event) -> None:
        """Never fails the run: a check that raises (a model it cannot run on the samples)
        warns once and turns the monitor off."""
        if self.broken:
            return
        try:
            self._on_event(event)
        except Exception as exc:  # noqa: BLE001 - health warnings never stop training
            self.broken = True
            warn(f"health warnings are off for this run: {type(exc).__name__}: "
                          f"{exc}", RuntimeWarning, stacklevel=2)

    def _on_event(self, event) -> None:
        kind = getattr(event, "kind", "")
        if kind == "grad_norms":
            self._add_norms(event.norms)
            return
        if kind not in ("batch", "epoch", "paused", "finished"):
            return
        if kind == "epoch":
            if not self._fresh_norms:   # a short epoch may have had no batch event
                self._norms_of_last_step()
            self._fresh_norms = False
        now = time.monotonic()
        final = kind in ("paused", "finished")
        if final or now >= self._next:
            self._check_activations()
            spent = time.monotonic() - now
            self._next = time.monotonic() + max(self.interval_s, spent / self.budget)
        if final or now >= self._next_publish:
            self._next_publish = now + self.publish_s
            self._publish()

    def warnings(self) -> list[HealthWarning]:
        """The current warnings, sorted by node."""
        state = self.state_of()
        if self._sizes is None and state is not None:
            self._sizes = {nid: sum(p.numel() for p in params)
                           for nid, params in state.node_params.items()}
        grads = gradient_warnings(list(self.recent), self._sizes or {}, self.graph,
                                  self.first)
        return sorted(self._act + grads, key=lambda w: (w.node_id, w.kind))

    def _check_activations(self) -> None:
        state = self.state_of()
        # a GAN's data feeds its discriminator, not the model's noise input: no activations
        if state is None or not self.watched or getattr(state, "gan", None) is not None:
            return
        if self._x is None:
            data = state.val_data if state.val_data is not None and len(state.val_data) \
                else state.train_data
            self._x = data.head(self.samples)
        outputs = node_outputs(state.model, state.node_modules, self.watched, self._x)
        self._act = activation_warnings(outputs, self.graph)

    def _publish(self) -> None:
        current = self.warnings()
        if current != self._sent:
            self._sent = current
            self.sink(current)
