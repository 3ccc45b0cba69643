"""The first two stages of reading a `.nnproj` file (see project.py): parse the JSON text
(no NaN or infinity, bounded nesting) and type-check every record, so that a hostile or
corrupt file is refused with one message naming the file and the field."""
from __future__ import annotations

import json
import math
import os
from typing import Any

from .guard.text import clip_message, quote

MAX_NODES = 100_000
MAX_DEPTH = 64            # nesting of JSON values (a setting nested 900 deep is no setting)
LEGACY = type("Legacy", (), {"__repr__": lambda self: "LEGACY"})()  # see Project.weights_record


class ProjectError(Exception):
    """A project file could not be read or written. The message names the file and the field."""

    def __init__(self, message: str, path: str | os.PathLike | None = None,
                 field: str | None = None):
        self.path = str(path) if path is not None else None
        self.field = field
        where = f"{self.path}: " if self.path else ""
        at = f"{field}: " if field else ""
        super().__init__(clip_message(f"{where}{at}{message}"))


# -- stage 1: parse -------------------------------------------------------------------------

def parse_json(text: str, path) -> dict:
    def no_constants(name: str):
        raise ValueError(f"{name} is not valid JSON")

    def finite_float(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):  # json accepts 1e999 as inf; saving would write Infinity
            raise ValueError(f"the number {short(literal)} is out of range")
        return value

    try:
        data = json.loads(text, parse_constant=no_constants, parse_float=finite_float)
    except RecursionError:
        raise ProjectError("the JSON is nested too deeply", path) from None
    except (ValueError, TypeError) as exc:
        raise ProjectError(f"not a valid project file (invalid JSON: {exc})", path) from None
    if not isinstance(data, dict):
        raise ProjectError("not a valid project file (the top level must be a JSON object)",
                           path)
    return data


# -- stage 2: typed records -----------------------------------------------------------------

def expect(value: Any, kind: type | tuple, where: str, path) -> Any:
    if kind is float:
        try:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
                math.isfinite(value)
        except OverflowError:  # an int too large for a float (10**400)
            ok = False
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = {dict: "an object", list: "a list", str: "text", bool: "true or false",
                 float: "a number", int: "an integer"}
        want = names.get(kind, getattr(kind, "__name__", str(kind)))
        raise ProjectError(f"expected {want}, found {type(value).__name__} {short(value)}",
                           path, where)
    return value


def short(value: Any) -> str:
    return quote(value, 40)


def typed_records(data: dict, path) -> dict:
    if "format_version" not in data:
        raise ProjectError("missing field (is this a Studio project?)", path, "format_version")
    expect(data["format_version"], int, "format_version", path)
    for key in ("meta", "dataset", "training", "view", "sweep"):
        expect(data.setdefault(key, {}), dict, key, path)
        check_depth(data[key], key, path)
    record = data.get("weights", LEGACY)
    if record is not None and record is not LEGACY and not (
            isinstance(record, dict) and isinstance(record.get("sha256"), str)
            and len(record["sha256"]) == 64):
        raise ProjectError("expected null or {\"sha256\": <64 hex digits>}", path, "weights")
    graph = expect(data.get("graph"), dict, "graph", path)
    total = _graph_records(graph, "graph", path)
    blocks = expect(graph.setdefault("blocks", {}), dict, "graph.blocks", path)
    for name, block in blocks.items():
        w = f"graph.blocks.{short(name)}"
        expect(block, dict, w, path)
        for i, arg in enumerate(expect(block.setdefault("args", []), list, f"{w}.args", path)):
            expect(arg, dict, f"{w}.args[{i}]", path)
        expect(block.setdefault("doc", ""), str, f"{w}.doc", path)
        total += _graph_records(expect(block.get("graph"), dict, f"{w}.graph", path),
                                f"{w}.graph", path)
    if total > MAX_NODES:
        raise ProjectError(f"{total} nodes is more than the limit of {MAX_NODES}", path,
                           "graph.nodes")
    return data


def _graph_records(graph: dict, where: str, path) -> int:
    """Type-check the nodes and edges of a graph record; returns its node count."""
    nodes = expect(graph.setdefault("nodes", []), list, f"{where}.nodes", path)
    edges = expect(graph.setdefault("edges", []), list, f"{where}.edges", path)
    if len(nodes) > MAX_NODES:
        raise ProjectError(f"{len(nodes)} nodes is more than the limit of {MAX_NODES}", path,
                           f"{where}.nodes")
    for i, nd in enumerate(nodes):
        w = f"{where}.nodes[{i}]"
        expect(nd, dict, w, path)
        for key in ("id", "type", "name"):
            if key not in nd:
                raise ProjectError("missing field", path, f"{w}.{key}")
            expect(nd[key], str, f"{w}.{key}", path)
        expect(nd.setdefault("params", {}), dict, f"{w}.params", path)
        check_depth(nd["params"], f"{w}.params", path, 2)
        expect(nd.setdefault("trainable", True), bool, f"{w}.trainable", path)
        pos = expect(nd.setdefault("pos", [0.0, 0.0]), list, f"{w}.pos", path)
        if len(pos) != 2:
            raise ProjectError("expected [x, y]", path, f"{w}.pos")
        for j, v in enumerate(pos):
            expect(v, float, f"{w}.pos[{j}]", path)
            if abs(v) > 1e9:
                raise ProjectError("position out of range", path, f"{w}.pos[{j}]")
        for key, expr in expect(nd.get("expr", {}), dict, f"{w}.expr", path).items():
            expect(expr, str, f"{w}.expr.{short(key)}", path)
    for i, ed in enumerate(edges):
        w = f"{where}.edges[{i}]"
        expect(ed, dict, w, path)
        for key in ("src", "src_port", "dst", "dst_port"):
            if key not in ed:
                raise ProjectError("missing field", path, f"{w}.{key}")
            expect(ed[key], str, f"{w}.{key}", path)
    return len(nodes)


def check_depth(value: Any, where: str, path, depth: int = 1) -> None:
    """Refuse values nested deeper than MAX_DEPTH (a setting 900 levels deep would break
    every later step that walks it)."""
    stack = [(value, where, depth)]
    while stack:
        v, w, d = stack.pop()
        if d > MAX_DEPTH:
            raise ProjectError(f"nested more than {MAX_DEPTH} levels deep", path, w)
        if isinstance(v, dict):
            stack.extend((x, f"{w}.{field_key(k)}", d + 1) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{w}[{i}]", d + 1) for i, x in enumerate(v))


def field_key(k: Any) -> str:
    text = str(k)
    return text if len(text) <= 40 and text.isprintable() else quote(text, 40)
