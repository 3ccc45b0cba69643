"""Hostile project files: mutators shared by the CI fuzz tests and bench/robustness.py.

Every mutator takes the bytes (or parsed JSON) of a bundled example and a `random.Random`, so
hypothesis can drive it through `st.randoms()` (shrinkable) and the long benchmark can loop over
plain seeds. `check_file` loads one candidate and classifies the outcome.
"""
from __future__ import annotations

import copy
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import engine
from engine.examples import example_paths
from engine.project import ProjectError, load_project, save_project

LAYER_IDS = sorted(engine.REGISTRY)

# Values that break naive loaders: huge and non-finite numbers, wrong types, big text.
HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, 2**63, 10**400, -(10**400), 1e308, -1e308, 1e-320,
    0.5, "", "x", "n1", "in", "out", "\x00", "a\nimport os", "\u2028", "é" * 50, "x" * 5000,
    [], [None], [[[]]], {},
    {"a": 1}, [1, 2], [0], [-1, -1], [10**400], [1e308, 1e308], list(range(50)),
]

# Raw JSON fragments that Python's json module accepts but a project must not contain.
BAD_LITERALS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 5000, "10" * 300]


def examples() -> dict[str, bytes]:
    """Bundled example name -> raw file bytes."""
    return {name: path.read_bytes() for name, path in example_paths().items()}


# -- structural mutations (on parsed JSON) -----------------------------------------------------

def _containers(data: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (path, dict-or-list) in the tree, root first."""
    out = []
    if isinstance(data, (dict, list)):
        out.append((path, data))
        items = data.items() if isinstance(data, dict) else enumerate(data)
        for k, v in items:
            out.extend(_containers(v, path + (k,)))
    return out


def _random_value(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if roll < 0.6 or depth > 2:
        return copy.deepcopy(rnd.choice(HOSTILE_VALUES))
    if roll < 0.8:
        return [_random_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {rnd.choice(["id", "type", "name", "params", "x"]): _random_value(rnd, depth + 1)
            for _ in range(rnd.randrange(3))}


def _retype(value: Any, rnd: random.Random) -> Any:
    """The same content as another JSON type (5 -> "5", "a" -> ["a"], [..] -> {..})."""
    options = [str(value), [value], {"value": value}, None]
    if isinstance(value, str):
        options += [len(value), value.encode("utf-8", "replace").hex()[:20]]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        options += [bool(value), float(value) if abs(value) < 1e300 else 1e300]
    if isinstance(value, list):
        options += [dict(enumerate(map(str, value))), tuple(value) and value[0]]
    return rnd.choice(options)


def _nodes(data: dict) -> list:
    g = data.get("graph")
    nodes = g.get("nodes") if isinstance(g, dict) else None
    return nodes if isinstance(nodes, list) else []


def _edges(data: dict) -> list:
    g = data.get("graph")
    edges = g.get("edges") if isinstance(g, dict) else None
    return edges if isinstance(edges, list) else []


def mut_delete(data: dict, rnd: random.Random) -> None:
    _path, c = rnd.choice(_containers(data))
    if c:
        key = rnd.choice(list(c)) if isinstance(c, dict) else rnd.randrange(len(c))
        del c[key]


def mut_replace(data: dict, rnd: random.Random) -> None:
    _path, c = rnd.choice(_containers(data))
    if c:
        key = rnd.choice(list(c)) if isinstance(c, dict) else rnd.randrange(len(c))
        c[key] = _random_value(rnd)


def mut_retype(data: dict, rnd: random.Random) -> None:
    _path, c = rnd.choice(_containers(data))
    if c:
        key = rnd.choice(list(c)) if isinstance(c, dict) else rnd.randrange(len(c))
        c[key] = _retype(c[key], rnd)


def mut_add_field(data: dict, rnd: random.Random) -> None:
    dicts = [c for _, c in _containers(data) if isinstance(c, dict)]
    rnd.choice(dicts)[rnd.choice(["extra", "id", "params", "shape", "__proto__"])] = \
        _random_value(rnd)


def mut_swap_type(data: dict, rnd: random.Random) -> None:
    nodes = [n for n in _nodes(data) if isinstance(n, dict)]
    if nodes:
        rnd.choice(nodes)["type"] = rnd.choice(LAYER_IDS + ["core.Nope", "", "io.input",
                                                            "os.system", "__import__"])


def mut_params(data: dict, rnd: random.Random) -> None:
    """A random (often invalid) value for a real parameter of the node's layer type."""
    nodes = [n for n in _nodes(data) if isinstance(n, dict)
             and isinstance(n.get("type"), str) and n["type"] in engine.REGISTRY]
    if nodes:
        node = rnd.choice(nodes)
        spec = engine.get_spec(node["type"])
        if spec.params and isinstance(node.get("params"), dict):
            node["params"][rnd.choice(spec.params).name] = _random_value(rnd)


def mut_duplicate_node(data: dict, rnd: random.Random) -> None:
    nodes = _nodes(data)
    if nodes:
        node = copy.deepcopy(rnd.choice(nodes))
        if isinstance(node, dict) and rnd.random() < 0.5:
            node["name"] = f"copy{rnd.randrange(100)}"  # same id, different name
        nodes.insert(rnd.randrange(len(nodes) + 1), node)


def mut_bad_edge(data: dict, rnd: random.Random) -> None:
    edges, nodes = _edges(data), _nodes(data)
    ids = [n.get("id") for n in nodes if isinstance(n, dict)] + ["ghost", ""]
    edge = {"src": rnd.choice(ids), "src_port": rnd.choice(["out", "in", "out2", "x"]),
            "dst": rnd.choice(ids), "dst_port": rnd.choice(["in", "in1", "in2", "out", "x"])}
    if edges and rnd.random() < 0.5:
        edges[rnd.randrange(len(edges))] = edge
    else:
        edges.append(edge)


def mut_version(data: dict, rnd: random.Random) -> None:
    data["format_version"] = rnd.choice([0, -1, 2, 99, 10**400, "1", 1.0, 1.5, None, True])


def mut_huge_number(data: dict, rnd: random.Random) -> None:
    _path, c = rnd.choice(_containers(data))
    if c:
        key = rnd.choice(list(c)) if isinstance(c, dict) else rnd.randrange(len(c))
        c[key] = rnd.choice([10**400, -(10**400), 2**64, 1e308, -1e308, 10**4000])


MUTATIONS: list[Callable[[dict, random.Random], None]] = [
    mut_delete, mut_replace, mut_retype, mut_add_field, mut_swap_type, mut_params,
    mut_duplicate_node, mut_bad_edge, mut_version, mut_huge_number,
]


def _dumps(data: Any) -> str:
    import sys
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # allow writing 10**4000 (the loader must refuse it)
    try:
        return json.dumps(data, indent=1)
    finally:
        sys.set_int_max_str_digits(old)


def mutate_structure(raw: bytes, rnd: random.Random, rounds: int | None = None) -> bytes:
    data = json.loads(raw)
    for _ in range(rounds or rnd.randint(1, 4)):
        rnd.choice(MUTATIONS)(data, rnd)
    return _dumps(data).encode("utf-8")


# -- textual mutations (on bytes) -----------------------------------------------------------

def _number_spans(text: str) -> list[tuple[int, int]]:
    import re
    return [m.span() for m in re.finditer(r"(?<=[\[:,\s])-?\d+(\.\d+)?(?=[,\s\]}])", text)]


def text_truncate(raw: bytes, rnd: random.Random) -> bytes:
    return raw[:rnd.randrange(len(raw))]


def text_bad_literal(raw: bytes, rnd: random.Random) -> bytes:
    text = raw.decode("utf-8")
    spans = _number_spans(text)
    if not spans:
        return raw
    a, b = rnd.choice(spans)
    return (text[:a] + rnd.choice(BAD_LITERALS) + text[b:]).encode("utf-8")


def text_non_utf8(raw: bytes, rnd: random.Random) -> bytes:
    i = rnd.randrange(len(raw))
    junk = rnd.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80\x80", b"\xfe\xff"])
    return raw[:i] + junk + raw[i:]


def text_flip_bytes(raw: bytes, rnd: random.Random) -> bytes:
    buf = bytearray(raw)
    for _ in range(rnd.randint(1, 8)):
        buf[rnd.randrange(len(buf))] = rnd.randrange(256)
    return bytes(buf)


def text_deep_nesting(raw: bytes, rnd: random.Random) -> bytes:
    """Replace one value by 10,000 (or more) nested lists/objects."""
    depth = rnd.choice([10_000, 50_000])
    opener, closer = rnd.choice([("[", "]"), ('{"a":', "}")])
    deep = opener * depth + "1" + closer * depth
    text = raw.decode("utf-8")
    spans = _number_spans(text)
    if not spans:
        return deep.encode()
    a, b = rnd.choice(spans)
    return (text[:a] + deep + text[b:]).encode("utf-8")


def text_bom_and_whitespace(raw: bytes, rnd: random.Random) -> bytes:
    return rnd.choice([b"\xef\xbb\xbf" + raw, raw + b"\x00", b" " * 100 + raw, raw * 2])


TEXT_MUTATIONS: list[Callable[[bytes, random.Random], bytes]] = [
    text_truncate, text_bad_literal, text_non_utf8, text_flip_bytes, text_deep_nesting,
    text_bom_and_whitespace,
]


def random_json(rnd: random.Random, depth: int = 0) -> Any:
    """Arbitrary JSON (often a dict with some project keys)."""
    if depth == 0 and rnd.random() < 0.7:
        keys = ["format_version", "graph", "meta", "dataset", "training", "view", "app"]
        return {k: random_json(rnd, depth + 1) for k in rnd.sample(keys, rnd.randint(1, 7))}
    if depth > 3 or rnd.random() < 0.5:
        return _random_value(rnd, 3)
    if rnd.random() < 0.5:
        return [random_json(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    keys = ["nodes", "edges", "id", "type", "name", "params", "pos", "src", "dst", "x"]
    return {k: random_json(rnd, depth + 1) for k in rnd.sample(keys, rnd.randint(0, 4))}


def hostile_file(rnd: random.Random) -> tuple[str, bytes]:
    """One hostile candidate: (a label of how it was made, the bytes)."""
    roll = rnd.random()
    if roll < 0.1:
        return "random_json", _dumps(random_json(rnd)).encode("utf-8")
    name, raw = rnd.choice(sorted(examples().items()))
    if roll < 0.65:
        return f"{name}:structure", mutate_structure(raw, rnd)
    mut = rnd.choice(TEXT_MUTATIONS)
    base = mutate_structure(raw, rnd, 1) if rnd.random() < 0.3 else raw
    return f"{name}:{mut.__name__}", mut(base, rnd)


# -- checking one candidate ------------------------------------------------------------------

@dataclass
class Outcome:
    kind: str          # "refused" (ProjectError) | "loaded" | "crash"
    message: str = ""
    seconds: float = 0.0


# A ProjectError that only wraps an unexpected exception: the loader missed a check.
UNHELPFUL = "could not read the project ("


def check_file(raw: bytes, folder: Path, name: str = "fuzz.nnproj") -> Outcome:
    """Load `raw` from a file in `folder`. Accept a ProjectError with a specific message; when
    it loads, validate() must not raise and save -> load must round-trip exactly."""
    path = folder / name
    path.write_bytes(raw)
    start = time.process_time()
    try:
        project = load_project(path)
    except ProjectError as exc:
        msg = str(exc)
        if UNHELPFUL in msg or not msg.startswith(str(path)):
            return Outcome("crash", f"unhelpful ProjectError: {msg}",
                           time.process_time() - start)
        return Outcome("refused", msg, time.process_time() - start)
    except BaseException as exc:  # noqa: BLE001  (any other exception is a loader bug)
        return Outcome("crash", f"{type(exc).__name__}: {exc}"[:500],
                       time.process_time() - start)
    try:
        engine.validate(project.graph)
        before = project.to_dict()
        out = save_project(project, folder / f"resaved_{name}")
        again = load_project(out).to_dict()
        if again != before or not _finite(before):
            return Outcome("crash", "save -> load did not round-trip",
                           time.process_time() - start)
    except BaseException as exc:  # noqa: BLE001
        return Outcome("crash", f"after load: {type(exc).__name__}: {exc}"[:500],
                       time.process_time() - start)
    return Outcome("loaded", "", time.process_time() - start)


def _finite(value: Any) -> bool:
    """No NaN/inf anywhere (iterative: loaded files may be nested deeply)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return True
