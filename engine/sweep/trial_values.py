"""Values between a project's settings and Optuna's parameters.

Optuna's categorical parameters hold None, bools, numbers and text; a choice such as a
kernel size `[3, 3]` is stored as its JSON text and turned back on the way out.
"""
from __future__ import annotations

import json
from typing import Any

from .space import Dimension

PRIMITIVES = (type(None), bool, int, float, str)


def _choices(d: Dimension) -> list:
    if all(isinstance(c, PRIMITIVES) for c in d.choices):
        return list(d.choices)
    return [json.dumps(c, sort_keys=True) for c in d.choices]


def to_optuna(d: Dimension, value: Any) -> Any:
    if d.kind == "choice" and not all(isinstance(c, PRIMITIVES) for c in d.choices):
        return json.dumps(value, sort_keys=True)
    return value


def from_optuna(d: Dimension, value: Any) -> Any:
    if d.kind == "choice" and not all(isinstance(c, PRIMITIVES) for c in d.choices):
        return json.loads(value)
    if d.kind == "int":
        return int(value)
    return value


def suggest(trial, d: Dimension) -> Any:
    """Ask an Optuna trial for a value of `d` (in the project's terms)."""
    if d.kind == "choice":
        return from_optuna(d, trial.suggest_categorical(d.key, _choices(d)))
    if d.kind == "int":
        return trial.suggest_int(d.key, int(d.low), int(d.high), step=int(d.step or 1),
                                 log=d.log)
    return trial.suggest_float(d.key, d.low, d.high, step=d.step, log=d.log)


def trial_values(dims: list[Dimension], params: dict) -> dict:
    """A finished trial's params in the project's terms (unknown keys are dropped)."""
    by_key = {d.key: d for d in dims}
    return {k: from_optuna(by_key[k], v) for k, v in params.items() if k in by_key}
