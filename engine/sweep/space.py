"""The searched settings of a project: the `sweep` section of a `.nnproj` file.

    "sweep": {
      "space": {                                   # what is searched, by target key
        "training.optimizer.lr": {"low": 1e-4, "high": 0.1, "log": true},
        "node.n2.out_features":  {"low": 4, "high": 64, "log": true},
        "training.optimizer.name": {"choices": ["adam", "sgd"]}
      },
      "sampler": "tpe",          # tpe | random | grid
      "pruner": "median",        # median | none: stop hopeless trials on the per-epoch metric
      "metric": null,            # what to optimize (default: val_loss, or loss without a
                                 # validation split); minimized when it is a loss or error
      "trials": 20,              # the study's total number of trials (all processes together)
      "epochs": null,            # epochs per trial (null: the training setting)
      "seed": 0,                 # sampler seed
      "grid_points": 5,          # values per float range in a grid search
      "baseline": true           # the first trial of a new study uses the current values
    }

A target key is `training.<path>` (any training setting, e.g. `training.batch_size`) or
`node.<node id>.<param>` (a layer parameter). A range (`low`, `high`, optional `log`, `step`)
searches numbers (integers when the setting is an integer); `choices` searches a list of
values. Every value is checked against the setting it replaces before a trial trains.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

from ..graph import Graph
from ..project import Project

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")
SETTINGS_DEFAULTS: dict[str, Any] = {
    "space": {}, "sampler": "tpe", "pruner": "median", "metric": None, "trials": 20,
    "epochs": None, "seed": 0, "grid_points": 5, "baseline": True,
}
MAX_GRID = 10_000


class SweepError(ValueError):
    """The sweep section is invalid; the message names the key (`sweep.space[...]`)."""


@dataclass(frozen=True)
class Dimension:
    """One searched setting: a key, its kind ('int' | 'float' | 'choice') and its range."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def describe(self) -> str:
        if self.kind == "choice":
            return "{" + ", ".join(map(_show, self.choices)) + "}"
        scale = ", log" if self.log else ""
        step = f", step {_show(self.step)}" if self.step else ""
        return f"[{_show(self.low)}, {_show(self.high)}{scale}{step}]"

    def grid(self, points: int) -> list:
        """The values a grid search tries."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            step = int(self.step or 1)
            values = list(range(int(self.low), int(self.high) + 1, step))
            if self.log and len(values) > points:
                geo = [round(v) for v in _spaced(self.low, self.high, points, True)]
                values = sorted(set(geo))
            return values
        if self.step:
            n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            return [self.low + i * self.step for i in range(n)]
        return _spaced(self.low, self.high, points, self.log)


def _spaced(low: float, high: float, n: int, log: bool) -> list[float]:
    if n == 1:
        return [low]
    if log:
        a, b = math.log(low), math.log(high)
        return [float(math.exp(a + (b - a) * i / (n - 1))) for i in range(n)]
    return [float(low + (high - low) * i / (n - 1)) for i in range(n)]


def _show(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else json.dumps(v) if not isinstance(v, str) else v


# -- targets -----------------------------------------------------------------------------------

def node_key(node_id: str, param: str) -> str:
    return f"node.{node_id}.{param}"


def training_key(*path: str) -> str:
    return "training." + ".".join(path)


def split_key(key: str) -> tuple[str, tuple[str, ...]]:
    """('training', path) or ('node', (node_id, param)); SweepError for anything else."""
    if not isinstance(key, str):
        raise SweepError(f"sweep.space: a key must be text, got {key!r}")
    head, _, rest = key.partition(".")
    if head == "training" and rest and all(rest.split(".")):
        return "training", tuple(rest.split("."))
    if head == "node" and "." in rest:
        node_id, _, param = rest.rpartition(".")
        if node_id and param:
            return "node", (node_id, param)
    raise SweepError(f"sweep.space[{key!r}]: a key is training.<setting> or "
                     "node.<node id>.<parameter>")


_NO_DEFAULT = object()
# settings whose default is null, by the kind of value they take when set
_NULL_DEFAULT_KINDS = {("optimizer", "momentum"): "float", ("schedule", "max_lr"): "float",
                       ("grad_clip", "norm"): "float", ("grad_clip", "value"): "float",
                       ("cd_k",): "int"}


def _training_default(path: tuple[str, ...]) -> Any:
    from ..train.config import DEFAULTS, EARLY_STOPPING_DEFAULTS

    node: Any = dict(DEFAULTS, early_stopping=EARLY_STOPPING_DEFAULTS)
    for k in path:
        if not isinstance(node, dict) or k not in node:
            return _NO_DEFAULT
        node = node[k]
    return node


def target_kind(project: Project, key: str) -> str:
    """'int', 'float' or 'choice': what values the target takes (raises SweepError)."""
    where, path = split_key(key)
    if where == "node":
        node = project.graph.nodes.get(path[0])
        if node is None:
            raise SweepError(f"sweep.space[{key!r}]: the graph has no node with id "
                             f"{path[0]!r}")
        try:
            param = node.spec.param(path[1])
        except Exception:  # noqa: BLE001 - the spec's own error type
            raise SweepError(f"sweep.space[{key!r}]: {node.spec.name} '{node.name}' has no "
                             f"parameter {path[1]!r}") from None
        return param.kind if param.kind in ("int", "float") else "choice"
    default = _training_default(path)
    if default is _NO_DEFAULT:
        raise SweepError(f"sweep.space[{key!r}]: {'.'.join(path)} is not a training setting")
    if isinstance(default, (dict, list)) and path != ("metrics",):
        raise SweepError(f"sweep.space[{key!r}]: {'.'.join(path)} is a group of settings; "
                         "search one of its values")
    if default is None:
        return _NULL_DEFAULT_KINDS.get(path, "choice")
    if isinstance(default, (bool, str, list)):
        return "choice"
    return "int" if isinstance(default, int) else "float"


def label_for(project: Project, key: str) -> str:
    """A readable name: 'lr' for training.optimizer.lr, 'hidden.out_features' for a node."""
    where, path = split_key(key)
    if where == "node":
        node = project.graph.nodes.get(path[0])
        return f"{node.name if node else path[0]}.{path[1]}"
    return path[-1] if path[-1] not in ("name",) else ".".join(path)


# -- reading the section -----------------------------------------------------------------------

def settings(project: Project) -> dict:
    """The sweep section over its defaults (no validation of the space)."""
    section = getattr(project, "sweep", None) or {}
    if not isinstance(section, dict):
        raise SweepError("sweep must be an object")
    unknown = sorted(set(section) - set(SETTINGS_DEFAULTS))
    if unknown:
        raise SweepError(f"sweep.{unknown[0]} is not a known setting (known: "
                         f"{', '.join(sorted(SETTINGS_DEFAULTS))})")
    out = copy.deepcopy(SETTINGS_DEFAULTS)
    out.update(copy.deepcopy(section))
    _check_settings(out)
    return out


def _check_settings(s: dict) -> None:
    if s["sampler"] not in SAMPLERS:
        raise SweepError(f"sweep.sampler must be one of {', '.join(SAMPLERS)}, "
                         f"got {s['sampler']!r}")
    if s["pruner"] not in PRUNERS:
        raise SweepError(f"sweep.pruner must be one of {', '.join(PRUNERS)}, "
                         f"got {s['pruner']!r}")
    for key, low in (("trials", 1), ("grid_points", 2), ("seed", 0)):
        v = s[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise SweepError(f"sweep.{key} must be an integer >= {low}, got {v!r}")
    if s["epochs"] is not None and (isinstance(s["epochs"], bool) or
                                    not isinstance(s["epochs"], int) or s["epochs"] < 1):
        raise SweepError(f"sweep.epochs must be null or an integer >= 1, got {s['epochs']!r}")
    if s["metric"] is not None and not isinstance(s["metric"], str):
        raise SweepError(f"sweep.metric must be a metric name such as val_loss, "
                         f"got {s['metric']!r}")
    if not isinstance(s["baseline"], bool):
        raise SweepError(f"sweep.baseline must be true or false, got {s['baseline']!r}")
    if not isinstance(s["space"], dict):
        raise SweepError("sweep.space must be an object (target key -> range or choices)")


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise SweepError(f"{where} must be a finite number, got {v!r}")
    return v


def dimension(project: Project, key: str, entry: Any) -> Dimension:
    """One space entry, checked against its target (raises SweepError naming the key)."""
    where = f"sweep.space[{key!r}]"
    if not isinstance(entry, dict):
        raise SweepError(f"{where} must be an object with low/high or choices")
    kind = target_kind(project, key)
    unknown = sorted(set(entry) - {"low", "high", "log", "step", "choices"})
    if unknown:
        raise SweepError(f"{where}.{unknown[0]} is not known (use low, high, log, step or "
                         "choices)")
    if "choices" in entry:
        choices = entry["choices"]
        if not isinstance(choices, list) or not choices:
            raise SweepError(f"{where}.choices must be a non-empty list")
        if len({json.dumps(c, sort_keys=True) for c in choices}) != len(choices):
            raise SweepError(f"{where}.choices lists a value twice")
        dim = Dimension(key, "choice", choices=tuple(choices))
    else:
        if kind == "choice":
            raise SweepError(f"{where}: this setting takes a list of choices, not a range")
        if "low" not in entry or "high" not in entry:
            raise SweepError(f"{where} needs low and high (or choices)")
        low, high = _number(entry["low"], f"{where}.low"), _number(entry["high"],
                                                                    f"{where}.high")
        log = entry.get("log", False)
        if not isinstance(log, bool):
            raise SweepError(f"{where}.log must be true or false")
        step = entry.get("step")
        if step is not None and _number(step, f"{where}.step") <= 0:
            raise SweepError(f"{where}.step must be > 0")
        if low >= high:
            raise SweepError(f"{where}: low ({low:g}) must be below high ({high:g})")
        if log and low <= 0:
            raise SweepError(f"{where}: a log range needs low > 0, got {low:g}")
        if log and step is not None:
            raise SweepError(f"{where}: use either log or step, not both")
        if kind == "int":
            for name, v in (("low", low), ("high", high), ("step", step)):
                if v is not None and float(v) != int(v):
                    raise SweepError(f"{where}.{name} must be an integer for this setting, "
                                     f"got {v!r}")
            low, high = int(low), int(high)
            step = int(step) if step is not None else None
        dim = Dimension(key, kind, float(low) if kind == "float" else low,
                        float(high) if kind == "float" else high, log, step)
    for value in ([dim.low, dim.high] if dim.kind != "choice" else list(dim.choices)):
        try:
            apply_values(project, {key: value})
        except SweepError as exc:
            raise SweepError(f"{where}: {exc}") from None
    return dim


def space(project: Project) -> list[Dimension]:
    """The searched dimensions, in key order (raises SweepError)."""
    section = settings(project)["space"]
    return [dimension(project, key, section[key]) for key in sorted(section)]


# -- applying values ---------------------------------------------------------------------------

def copy_project(project: Project) -> Project:
    """A deep copy (graph with its weights, every settings section, the same path)."""
    return Project(project.graph.copy(), copy.deepcopy(project.dataset),
                   copy.deepcopy(project.training), copy.deepcopy(project.view),
                   copy.deepcopy(project.meta), project.path, copy.deepcopy(project.sweep))


def _set_path(root: dict, path: tuple[str, ...], value: Any) -> None:
    node = root
    for k in path[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[path[-1]] = copy.deepcopy(value)


def apply_values(project: Project, values: dict[str, Any]) -> Project:
    """A copy of `project` with each target set to its value. Raises SweepError naming the
    setting when a value is refused (by the training config checks or the layer's spec)."""
    from ..layers import ParamError
    from ..train.config import ConfigError, resolve_config

    out = copy_project(project)
    training_changed = False
    for key, value in values.items():
        where, path = split_key(key)
        if where == "training":
            _set_path(out.training, path, value)
            training_changed = True
            continue
        node = out.graph.nodes.get(path[0])
        if node is None:
            raise SweepError(f"the graph has no node with id {path[0]!r}")
        try:
            out.graph.set_param(path[0], path[1], value)
        except (ParamError, ValueError) as exc:
            raise SweepError(f"'{node.name}': {exc}") from None
    if training_changed:
        try:
            resolve_config(copy.deepcopy(out.training))
        except ConfigError as exc:
            raise SweepError(str(exc)) from None
    return out


def current_values(project: Project, dims: list[Dimension]) -> dict[str, Any]:
    """The project's present value of each dimension (the baseline trial)."""
    from ..train.config import resolve_config

    cfg = resolve_config(copy.deepcopy(project.training))
    out = {}
    for d in dims:
        where, path = split_key(d.key)
        if where == "node":
            out[d.key] = project.graph.nodes[path[0]].params.get(path[1])
        else:
            node: Any = cfg
            for k in path:
                node = node.get(k) if isinstance(node, dict) else None
            out[d.key] = node
    return out


def fits(dim: Dimension, value: Any) -> bool:
    """True if `value` lies in the dimension (a baseline outside the range is not enqueued:
    samplers refuse it)."""
    if dim.kind == "choice":
        return any(json.dumps(value, sort_keys=True) == json.dumps(c, sort_keys=True)
                   for c in dim.choices)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if dim.kind == "int" and float(value) != int(value):
        return False
    return dim.low <= value <= dim.high


def graph_cost(graph: Graph) -> tuple[int | None, int | None]:
    """(parameters, MACs per sample) of a graph, None where the graph is invalid."""
    from ..summary import summarize

    s = summarize(graph)
    if not s.report.ok:
        return None, None
    return s.total_params, s.total_flops
