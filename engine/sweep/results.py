"""A study's trials as plain records: for the `studio sweep` table, the Sweep tab, the
parallel-coordinates and Pareto views, and "Apply best"."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .space import Dimension
from .study import minimize
from .trial_values import from_optuna

STATE_NAMES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed",
               "RUNNING": "running", "WAITING": "waiting"}


@dataclass
class TrialRecord:
    number: int
    state: str                       # complete | pruned | failed | skipped | running | waiting
    values: dict[str, Any]           # target key -> value, in the project's terms
    value: float | None              # the metric (best epoch; last reported when pruned)
    curve: dict[int, float] = field(default_factory=dict)  # epoch -> metric
    params: int | None = None
    macs: int | None = None
    seconds: float | None = None
    epochs: int | None = None
    run: str | None = None           # run folder, relative to the project's runs folder
    host: str | None = None
    message: str = ""
    baseline: bool = False


@dataclass
class StudyView:
    name: str
    metric: str
    minimize: bool
    trials: list[TrialRecord]

    @property
    def best(self) -> TrialRecord | None:
        done = [t for t in self.trials if t.state == "complete" and _finite(t.value)]
        if not done:
            return None
        pick = min if self.minimize else max
        return pick(done, key=lambda t: t.value)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def pareto(self, cost: str) -> list[TrialRecord]:
        """Complete trials not beaten on both the metric and `cost` ('params', 'macs' or
        'seconds'), ordered by cost."""
        pts = [t for t in self.trials if t.state == "complete" and _finite(t.value)
               and getattr(t, cost) is not None]
        sign = 1 if self.minimize else -1
        pts.sort(key=lambda t: (getattr(t, cost), sign * t.value))
        front, best = [], math.inf
        for t in pts:
            if sign * t.value < best:
                front.append(t)
                best = sign * t.value
        return front


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def records(study, dims: list[Dimension] | None = None) -> StudyView:
    """Every trial of `study` (values decoded with `dims` where they are known)."""
    by_key = {d.key: d for d in dims or []}
    metric = study.user_attrs.get("metric", "value")
    out = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        state = STATE_NAMES.get(t.state.name, t.state.name.lower())
        if attrs.get("skipped"):
            state = "skipped"
        values = {k: from_optuna(by_key[k], v) if k in by_key else v
                  for k, v in t.params.items()}
        curve = {int(k): float(v) for k, v in t.intermediate_values.items()}
        value = t.value if t.state.name == "COMPLETE" else \
            (curve[max(curve)] if curve else None)
        out.append(TrialRecord(
            t.number, state, values, value, curve, attrs.get("params"), attrs.get("macs"),
            attrs.get("train_seconds"), attrs.get("epochs"), attrs.get("run"),
            attrs.get("host"), attrs.get("error") or attrs.get("skipped") or "",
            bool(attrs.get("baseline"))))
    return StudyView(study.study_name, metric, minimize(metric), out)


def value_text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
