"""Architecture diff: what changed from one graph (or project, or run snapshot) to another.

    d = diff_projects(load_project("old.nnproj"), load_project("new.nnproj"))
    d.added, d.removed, d.changed        # NodeChange lists
    d.wires                              # WireChange list
    d.params, d.macs                     # (before, after) totals; None for an invalid graph
    d.settings                           # [(key, before, after)] of training and dataset

Nodes are matched by id (ids are stable across edits), then by name, always with the same
layer type; a node that changed type is one removed and one added node.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .graph import Graph
from .project import FORMAT_VERSION, Project, ProjectError, load_project, project_from_dict

MISSING = "—"


@dataclass
class NodeChange:
    """kind 'added' | 'removed' | 'changed'. `node_id` is the node's id in the graph that has
    it (the new one for added/changed, the old one for removed); `old_id` its id before."""

    kind: str
    node_id: str
    name: str
    type: str
    old_id: str | None = None
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    renamed: tuple[str, str] | None = None
    trainable: tuple[bool, bool] | None = None

    def describe(self) -> str:
        parts = []
        if self.renamed:
            parts.append(f"renamed {self.renamed[0]} -> {self.renamed[1]}")
        parts += [f"{k}: {_show(a)} -> {_show(b)}" for k, a, b in
                  ((k, *v) for k, v in self.params.items())]
        if self.trainable:
            parts.append(f"trainable: {_show(self.trainable[0])} -> "
                         f"{_show(self.trainable[1])}")
        return ", ".join(parts)


@dataclass(frozen=True)
class WireChange:
    """kind 'added' | 'removed': a wire between node names (and their ids in the graph that
    has the wire)."""

    kind: str
    src: str
    src_port: str
    dst: str
    dst_port: str
    src_id: str
    dst_id: str

    def describe(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


@dataclass
class GraphDiff:
    nodes: list[NodeChange] = field(default_factory=list)
    wires: list[WireChange] = field(default_factory=list)
    params: tuple[int | None, int | None] = (None, None)
    macs: tuple[int | None, int | None] = (None, None)
    settings: list[tuple[str, Any, Any]] = field(default_factory=list)
    matched: dict[str, str] = field(default_factory=dict)   # new id -> old id

    def _kind(self, kind: str) -> list[NodeChange]:
        return [n for n in self.nodes if n.kind == kind]

    @property
    def added(self) -> list[NodeChange]:
        return self._kind("added")

    @property
    def removed(self) -> list[NodeChange]:
        return self._kind("removed")

    @property
    def changed(self) -> list[NodeChange]:
        return self._kind("changed")

    @property
    def same(self) -> bool:
        return not (self.nodes or self.wires or self.settings)

    def lines(self) -> list[str]:
        """The diff as text, one change a line."""
        out = [f"+ {n.name} ({n.type})" + (f"  {_params_text(n.params)}" if n.params else "")
               for n in self.added]
        out += [f"- {n.name} ({n.type})" for n in self.removed]
        out += [f"~ {n.name} ({n.type})  {n.describe()}" for n in self.changed]
        out += [f"{'+' if w.kind == 'added' else '-'} wire {w.describe()}" for w in self.wires]
        out.append(f"params: {_delta(*self.params)}")
        out.append(f"MACs:   {_delta(*self.macs)}")
        out += [f"~ {k}: {_show(a)} -> {_show(b)}" for k, a, b in self.settings]
        return out

    def to_dict(self) -> dict:
        return {"added": [_node_dict(n) for n in self.added],
                "removed": [_node_dict(n) for n in self.removed],
                "changed": [_node_dict(n) for n in self.changed],
                "wires": [{"kind": w.kind, "from": f"{w.src}.{w.src_port}",
                           "to": f"{w.dst}.{w.dst_port}"} for w in self.wires],
                "params": list(self.params), "macs": list(self.macs),
                "settings": [{"key": k, "before": a, "after": b} for k, a, b in self.settings]}


def _node_dict(n: NodeChange) -> dict:
    out = {"id": n.node_id, "name": n.name, "type": n.type}
    if n.kind == "changed":
        out["params"] = {k: {"before": a, "after": b} for k, (a, b) in n.params.items()}
        if n.renamed:
            out["renamed"] = list(n.renamed)
        if n.trainable:
            out["trainable"] = list(n.trainable)
    elif n.params:
        out["params"] = {k: b for k, (_a, b) in n.params.items()}
    return out


def _show(v: Any) -> str:
    if v is MISSING:
        return MISSING
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str):
        return v
    return json.dumps(v)


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={_show(b)}" for k, (_a, b) in params.items())


def _delta(a: int | None, b: int | None) -> str:
    if a is None or b is None:
        return f"{_count(a)} -> {_count(b)} (a graph is invalid)"
    sign = "+" if b >= a else "-"
    pct = f", {sign}{abs(b - a) / a:.1%}" if a else ""
    return f"{a:,} -> {b:,} ({sign}{abs(b - a):,}{pct})"


def _count(v: int | None) -> str:
    return "?" if v is None else f"{v:,}"


# -- matching and comparing ---------------------------------------------------------------------

def _match(a: Graph, b: Graph) -> dict[str, str]:
    """New id -> old id for the nodes that are the same node in both graphs."""
    pairs: dict[str, str] = {}
    used: set[str] = set()
    for nid, node in b.nodes.items():
        old = a.nodes.get(nid)
        if old is not None and old.type == node.type:
            pairs[nid] = nid
            used.add(nid)
    by_name = {n.name: n for n in a.nodes.values() if n.id not in used}
    for nid, node in b.nodes.items():
        if nid in pairs:
            continue
        old = by_name.get(node.name)
        if old is not None and old.type == node.type and old.id not in used:
            pairs[nid] = old.id
            used.add(old.id)
    return pairs


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y and type(x) is type(y) or (isinstance(x, (int, float)) and
                                               isinstance(y, (int, float)) and
                                               not isinstance(x, bool) and
                                               not isinstance(y, bool) and x == y)


def _param_changes(old: dict, new: dict) -> dict[str, tuple[Any, Any]]:
    out = {}
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key, MISSING), new.get(key, MISSING)
        if not _same(a, b):
            out[key] = (a, b)
    return out


def _cost(graph: Graph) -> tuple[int | None, int | None]:
    from .summary import summarize

    try:
        s = summarize(graph)
    except Exception:  # noqa: BLE001 - a broken graph has no totals, but still a diff
        return None, None
    if not s.report.ok:
        return None, None
    return s.total_params, s.total_flops


def diff_graphs(a: Graph, b: Graph) -> GraphDiff:
    """What changed from graph `a` (before) to graph `b` (after)."""
    pairs = _match(a, b)
    old_of = dict(pairs)
    new_of = {old: new for new, old in pairs.items()}
    d = GraphDiff(matched=old_of)
    for nid, node in b.nodes.items():
        if nid not in old_of:
            d.nodes.append(NodeChange("added", nid, node.name, node.spec.name,
                                      params={k: (MISSING, v) for k, v in
                                              node.params.items()}))
            continue
        old = a.nodes[old_of[nid]]
        change = NodeChange("changed", nid, node.name, node.spec.name, old.id,
                            _param_changes(old.params, node.params),
                            (old.name, node.name) if old.name != node.name else None,
                            (old.trainable, node.trainable)
                            if old.trainable != node.trainable else None)
        if change.params or change.renamed or change.trainable:
            d.nodes.append(change)
    for oid, node in a.nodes.items():
        if oid not in new_of:
            d.nodes.append(NodeChange("removed", oid, node.name, node.spec.name))

    def key_b(nid):   # a node of b in a's terms
        return old_of.get(nid, f"new:{nid}")

    wires_a = {(e.src, e.src_port, e.dst, e.dst_port): e for e in a.edges}
    wires_b = {(key_b(e.src), e.src_port, key_b(e.dst), e.dst_port): e for e in b.edges}
    for key, e in wires_b.items():
        if key not in wires_a:
            d.wires.append(WireChange("added", b.nodes[e.src].name, e.src_port,
                                      b.nodes[e.dst].name, e.dst_port, e.src, e.dst))
    for key, e in wires_a.items():
        if key not in wires_b:
            d.wires.append(WireChange("removed", a.nodes[e.src].name, e.src_port,
                                      a.nodes[e.dst].name, e.dst_port, e.src, e.dst))
    (pa, ma), (pb, mb) = _cost(a), _cost(b)
    d.params, d.macs = (pa, pb), (ma, mb)
    return d


def flatten(d: Any, prefix: str = "") -> dict:
    """{'optimizer.lr': 0.001, ...}: nested settings as dotted keys."""
    out = {}
    if isinstance(d, dict) and d:
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif prefix:
        out[prefix[:-1]] = d
    return out


def settings_diff(a: dict, b: dict, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(key, before, after) for every setting that differs (MISSING where absent)."""
    fa, fb = flatten(a), flatten(b)
    return [(prefix + k, fa.get(k, MISSING), fb.get(k, MISSING))
            for k in sorted(set(fa) | set(fb)) if not _same(fa.get(k, MISSING),
                                                             fb.get(k, MISSING))]


def _training(section: dict) -> dict:
    """The full training config (defaults filled in), or the section as it is if invalid."""
    from .train.config import ConfigError, resolve_config

    try:
        return resolve_config(json.loads(json.dumps(section)))
    except (ConfigError, TypeError, ValueError):
        return section


def diff_projects(a: Project, b: Project) -> GraphDiff:
    """The graph diff plus the differences of the training and dataset settings."""
    d = diff_graphs(a.graph, b.graph)
    d.settings = settings_diff(_training(a.training), _training(b.training), "training.") + \
        settings_diff(a.dataset, b.dataset, "dataset.")
    return d


# -- reading either side ------------------------------------------------------------------------

class DiffError(ValueError):
    """One side of a diff could not be read; the message names the file."""


def load_side(path: str | Path) -> Project:
    """A project file, a run folder or a run's config.json (the snapshot of its graph and
    settings) as a Project. Raises DiffError naming the file."""
    path = Path(path)
    if path.is_dir():
        from .train.run_folder import config_file

        path = config_file(path)
        if not path.exists():
            raise DiffError(f"{path.parent}: not a run folder (it has no config.json)")
    if path.suffix != ".json":
        try:
            return load_project(path, weights=False)
        except ProjectError as exc:
            raise DiffError(str(exc)) from None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DiffError(f"{path}: cannot read the run snapshot ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("graph"), dict):
        raise DiffError(f"{path}: not a run snapshot (no graph)")
    record = {"format_version": FORMAT_VERSION, "graph": data["graph"],
              "dataset": data.get("dataset") or {}, "training": data.get("training") or {},
              "meta": {"name": data.get("project") or path.parent.name}}
    try:
        return project_from_dict(record, path)
    except ProjectError as exc:
        raise DiffError(str(exc)) from None
