"""The `.nnproj` project file: versioned JSON, loaded in stages, saved atomically.

Stages: parse (JSON text -> dict) -> records (every field type-checked, errors name the field)
-> migrate (older format versions upgraded; newer ones refused) -> build (Graph objects).
Trained weights live beside the project in `<name>.safetensors`; nothing is ever unpickled.
"""
from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write, fsync_dir, remove_stale_temps  # noqa: F401 (re-exported)
from .graph import Graph, GraphError, check_name
from .guard.files import NotRegularFile, TooLarge, read_regular
from .guard.paths import BadPath, OutsideProject, resolve_user_path
from .guard.text import clip_message, quote
from .layers import ParamError, RegistryError

FORMAT_VERSION = 2
SUFFIX = ".nnproj"
MAX_FILE_BYTES = 64 * 1024 * 1024
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


@dataclass
class Project:
    """A graph plus its dataset, training and view settings. `path` is where it was loaded."""

    graph: Graph = field(default_factory=Graph)
    dataset: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    view: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    path: Path | None = None
    sweep: dict = field(default_factory=dict)  # searched settings (engine.sweep.space)
    #: runtime only, never saved: the user confirmed that this project may read data outside
    #: its folder (the GUI asks once per project; the CLI's --allow-outside-data)
    allow_outside_data: bool = field(default=False, compare=False)
    #: the file's "weights" record: {"sha256": ...} (the weights file that belongs to it),
    #: None (no weights), or LEGACY (a file from before pairs: any weights file beside it)
    weights_record: Any = field(default=None, compare=False, repr=False)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def name(self) -> str:
        return self.meta.get("name") or (self.path.stem if self.path else "untitled")

    def weights_path(self, path: Path | None = None) -> Path | None:
        p = path or self.path
        return p.with_suffix(".safetensors") if p else None

    def own_files(self) -> list[tuple[Path, str]]:
        """(path, description) of the files that belong to this project: no other command
        may write its output over them."""
        if self.path is None:
            return []
        weights = self.weights_path()
        return [(self.path, "the project file"), (weights, "the project's weights"),
                (previous_weights_path(weights), "the project's previous weights"),
                (pending_weights_path(weights), "the project's weights being saved")]

    def runs_dir(self) -> Path:
        return self.folder / f"{self.path.stem if self.path else 'untitled'}.runs"

    def resolve_data_path(self, rel: str, key: str = "path") -> Path:
        """A data path from the project file as a real path (`~`, `..` and symlinks
        resolved). Its real location must be inside the project folder unless the user
        confirmed reading outside it (`allow_outside_data`): a hostile file cannot point at
        ../../secret or /etc/passwd. Raises ProjectError naming dataset.<key>."""
        try:
            return resolve_user_path(rel, self.folder, allow_outside=self.allow_outside_data,
                                     key="data path")
        except (BadPath, OutsideProject) as exc:
            raise ProjectError(str(exc), self.path, f"dataset.{key}") from None

    def relative_data_path(self, path: str | os.PathLike) -> str:
        """How to store `path` in the file: relative to the project folder when inside it."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(p)

    def to_dict(self) -> dict:
        out = {"format_version": FORMAT_VERSION, "app": "studio", "meta": self.meta,
               "graph": self.graph.to_dict(), "dataset": self.dataset,
               "training": self.training, "view": self.view}
        if self.sweep:  # written only when something is searched
            out["sweep"] = self.sweep
        return out


# -- stage 1: parse -------------------------------------------------------------------------

def _parse(text: str, path) -> dict:
    def no_constants(name: str):
        raise ValueError(f"{name} is not valid JSON")

    def finite_float(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):  # json accepts 1e999 as inf; saving would write Infinity
            raise ValueError(f"the number {_short(literal)} is out of range")
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

def _expect(value: Any, kind: type | tuple, where: str, path) -> Any:
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
        raise ProjectError(f"expected {want}, found {type(value).__name__} {_short(value)}",
                           path, where)
    return value


def _short(value: Any) -> str:
    return quote(value, 40)


def _records(data: dict, path) -> dict:
    if "format_version" not in data:
        raise ProjectError("missing field (is this a Studio project?)", path, "format_version")
    _expect(data["format_version"], int, "format_version", path)
    for key in ("meta", "dataset", "training", "view", "sweep"):
        _expect(data.setdefault(key, {}), dict, key, path)
        _check_depth(data[key], key, path)
    record = data.get("weights", LEGACY)
    if record is not None and record is not LEGACY and not (
            isinstance(record, dict) and isinstance(record.get("sha256"), str)
            and len(record["sha256"]) == 64):
        raise ProjectError("expected null or {\"sha256\": <64 hex digits>}", path, "weights")
    graph = _expect(data.get("graph"), dict, "graph", path)
    total = _graph_records(graph, "graph", path)
    blocks = _expect(graph.setdefault("blocks", {}), dict, "graph.blocks", path)
    for name, block in blocks.items():
        w = f"graph.blocks.{_short(name)}"
        _expect(block, dict, w, path)
        for i, arg in enumerate(_expect(block.setdefault("args", []), list, f"{w}.args", path)):
            _expect(arg, dict, f"{w}.args[{i}]", path)
        _expect(block.setdefault("doc", ""), str, f"{w}.doc", path)
        total += _graph_records(_expect(block.get("graph"), dict, f"{w}.graph", path),
                                f"{w}.graph", path)
    if total > MAX_NODES:
        raise ProjectError(f"{total} nodes is more than the limit of {MAX_NODES}", path,
                           "graph.nodes")
    return data


def _graph_records(graph: dict, where: str, path) -> int:
    """Type-check the nodes and edges of a graph record; returns its node count."""
    nodes = _expect(graph.setdefault("nodes", []), list, f"{where}.nodes", path)
    edges = _expect(graph.setdefault("edges", []), list, f"{where}.edges", path)
    if len(nodes) > MAX_NODES:
        raise ProjectError(f"{len(nodes)} nodes is more than the limit of {MAX_NODES}", path,
                           f"{where}.nodes")
    for i, nd in enumerate(nodes):
        w = f"{where}.nodes[{i}]"
        _expect(nd, dict, w, path)
        for key in ("id", "type", "name"):
            if key not in nd:
                raise ProjectError("missing field", path, f"{w}.{key}")
            _expect(nd[key], str, f"{w}.{key}", path)
        _expect(nd.setdefault("params", {}), dict, f"{w}.params", path)
        _check_depth(nd["params"], f"{w}.params", path, 2)
        _expect(nd.setdefault("trainable", True), bool, f"{w}.trainable", path)
        pos = _expect(nd.setdefault("pos", [0.0, 0.0]), list, f"{w}.pos", path)
        if len(pos) != 2:
            raise ProjectError("expected [x, y]", path, f"{w}.pos")
        for j, v in enumerate(pos):
            _expect(v, float, f"{w}.pos[{j}]", path)
            if abs(v) > 1e9:
                raise ProjectError("position out of range", path, f"{w}.pos[{j}]")
        for key, expr in _expect(nd.get("expr", {}), dict, f"{w}.expr", path).items():
            _expect(expr, str, f"{w}.expr.{_short(key)}", path)
    for i, ed in enumerate(edges):
        w = f"{where}.edges[{i}]"
        _expect(ed, dict, w, path)
        for key in ("src", "src_port", "dst", "dst_port"):
            if key not in ed:
                raise ProjectError("missing field", path, f"{w}.{key}")
            _expect(ed[key], str, f"{w}.{key}", path)
    return len(nodes)


def _check_depth(value: Any, where: str, path, depth: int = 1) -> None:
    """Refuse values nested deeper than MAX_DEPTH (a setting 900 levels deep would break
    every later step that walks it)."""
    stack = [(value, where, depth)]
    while stack:
        v, w, d = stack.pop()
        if d > MAX_DEPTH:
            raise ProjectError(f"nested more than {MAX_DEPTH} levels deep", path, w)
        if isinstance(v, dict):
            stack.extend((x, f"{w}.{_key(k)}", d + 1) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{w}[{i}]", d + 1) for i, x in enumerate(v))


def _key(k: Any) -> str:
    text = str(k)
    return text if len(text) <= 40 and text.isprintable() else quote(text, 40)


# -- stage 3: migrate -----------------------------------------------------------------------

def _v1_to_v2(data: dict) -> dict:
    """Version 2 adds block types (`graph.blocks`, instances of type "block:<name>", inner
    params bound to block arguments by `expr`); a version-1 graph is a graph without blocks."""
    data["graph"].setdefault("blocks", {})
    return data


MIGRATIONS: dict[int, Callable[[dict], dict]] = {
    # version -> function upgrading a dict of that version to version + 1
    1: _v1_to_v2,
}


def _migrate(data: dict, path) -> dict:
    version = data["format_version"]
    if version > FORMAT_VERSION:
        raise ProjectError(f"format_version {version} is newer than this Studio understands "
                           f"({FORMAT_VERSION}): update Studio to open it", path,
                           "format_version")
    if version < 1:
        raise ProjectError(f"unknown format_version {version}", path, "format_version")
    while version < FORMAT_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["format_version"] = version
    return data


# -- stage 4: build -------------------------------------------------------------------------

def _build_graph(graph: dict, path) -> Graph:
    from .blocks import BlockType, arg_from_dict, dependency_order

    g = Graph()
    blocks = graph.get("blocks") or {}
    try:
        order = dependency_order(blocks)
    except GraphError as exc:
        raise ProjectError(str(exc), path, "graph.blocks") from None
    for name in order:
        w = f"graph.blocks.{_short(name)}"
        try:
            args = [arg_from_dict(a) for a in blocks[name]["args"]]
        except ParamError as exc:
            raise ProjectError(str(exc), path, f"{w}.args") from None
        try:
            btype = BlockType(name, Graph(g.blocks), args, blocks[name]["doc"])
        except (GraphError, ParamError) as exc:
            raise ProjectError(str(exc), path, w) from None
        _build_body(btype.graph, blocks[name]["graph"], f"{w}.graph", path)
        g.add_block_type(btype)
    _build_body(g, graph, "graph", path)
    return g


def _build_body(g: Graph, graph: dict, where: str, path) -> None:
    for i, nd in enumerate(graph.get("nodes", [])):
        w = f"{where}.nodes[{i}]"
        if not nd["id"] or nd["id"] in g.nodes:
            why = f"duplicate node id {quote(nd['id'])}" if nd["id"] else "a node id cannot be empty"
            raise ProjectError(f"{why} (node {quote(nd['name'])})", path, f"{w}.id")
        try:
            check_name(nd["name"])
        except GraphError as exc:
            raise ProjectError(str(exc), path, f"{w}.name") from None
        try:
            g.add_node_dict(nd)
        except RegistryError as exc:
            raise ProjectError(f"{exc} (node {quote(nd['name'])})", path, f"{w}.type") from None
        except (ParamError, GraphError) as exc:
            raise ProjectError(f"node {quote(nd['name'])}: {exc}", path, f"{w}.params") from None
    for i, ed in enumerate(graph.get("edges", [])):
        try:
            g.connect(ed["src"], ed["src_port"], ed["dst"], ed["dst_port"])
        except GraphError as exc:
            raise ProjectError(str(exc), path, f"{where}.edges[{i}]") from None


def project_from_dict(data: Any, path=None) -> Project:
    """Build a Project from already-parsed JSON (raises ProjectError naming the bad field)."""
    if not isinstance(data, dict):
        raise ProjectError("the top level must be a JSON object", path)
    try:
        data = _migrate(_records(data, path), path)
        graph = _build_graph(data["graph"], path)
    except ProjectError:
        raise
    except RecursionError:
        raise ProjectError("the project is nested too deeply", path) from None
    except Exception as exc:  # anything else is still a bad file, never a crash
        raise ProjectError(f"could not read the project ({type(exc).__name__}: {exc})",
                           path) from None
    return Project(graph, data["dataset"], data["training"], data["view"], data["meta"],
                   Path(path) if path else None, data["sweep"],
                   weights_record=data.get("weights", LEGACY))


def loads_project(text: str, path=None) -> Project:
    return project_from_dict(_parse(text, path), path)


def load_project(path: str | os.PathLike, weights: bool = True) -> Project:
    """Read a `.nnproj` file (and the weights file that belongs to it, if any). Only a
    regular file of at most MAX_FILE_BYTES is read. Raises ProjectError."""
    path = Path(path)
    try:
        raw = read_regular(path, MAX_FILE_BYTES, "it")
    except (NotRegularFile, TooLarge) as exc:
        raise ProjectError(f"cannot read the file: {exc}", path) from None
    except OSError as exc:
        raise ProjectError(f"cannot read the file: {exc.strerror or exc}", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(f"not a text file (invalid UTF-8 at byte {exc.start})", path) \
            from None
    project = loads_project(text, path)
    if weights:
        project.graph.weights = paired_weights(project)
    return project


def dumps_project(project: Project, weights_record: Any = "own", path=None) -> str:
    """The project as JSON text (sorted keys). `weights_record` is written as the "weights"
    field ({"sha256": ...} or None; by default the project's own record, left out for
    LEGACY). Raises ProjectError
    naming the field when a value cannot be saved and read back (NaN, infinity, text that is
    not valid Unicode, a value nested too deeply, an object JSON cannot hold)."""
    data = project.to_dict()
    if isinstance(weights_record, str):
        weights_record = project.weights_record
    if weights_record is not LEGACY:
        data["weights"] = weights_record
    check_saveable(data, path or project.path)
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def check_saveable(data: Any, path=None, where: str = "") -> None:
    """Refuse (ProjectError naming the field) any value that cannot be written to a project
    file and read back the same: non-finite numbers, huge integers, lone surrogates, non-text
    keys, non-JSON types, nesting deeper than MAX_DEPTH."""
    stack = [(data, where, 0)]
    while stack:
        v, w, d = stack.pop()
        if d > MAX_DEPTH:
            raise ProjectError(f"nested more than {MAX_DEPTH} levels deep", path, w or None)
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise ProjectError(f"the key {quote(k)} is not text", path, w or None)
                _check_text(k, f"{w}.{_key(k)}" if w else _key(k), path)
                stack.append((x, f"{w}.{_key(k)}" if w else _key(k), d + 1))
        elif isinstance(v, (list, tuple)):
            stack.extend((x, f"{w}[{i}]", d + 1) for i, x in enumerate(v))
        elif isinstance(v, str):
            _check_text(v, w, path)
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise ProjectError(f"{v} cannot be saved: use a finite number", path, w)
        elif isinstance(v, int) and not isinstance(v, bool):
            if v.bit_length() > _MAX_INT_BITS:  # json cannot write (or read) it
                raise ProjectError(f"{quote(v)} is too large to save", path, w)
        elif v is not None and not isinstance(v, bool):
            raise ProjectError(f"a {type(v).__name__} cannot be saved in a project file",
                               path, w)


_MAX_INT_BITS = int((sys.get_int_max_str_digits() or 4300) * 3.32)


def _check_text(text: str, where: str, path) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProjectError(f"the text {quote(text, 40)} is not valid Unicode (character "
                           f"{exc.start} is a lone surrogate) and cannot be saved", path,
                           where) from None


def save_project(project: Project, path: str | os.PathLike | None = None) -> Path:
    """Save the project file (JSON, sorted keys) and its weights, if any, as a pair: a kill
    at any moment leaves the old pair or the new one (see engine.weights_file). Every value
    is checked before anything is written. Raises ProjectError."""
    path = Path(path or project.path or "")
    if not path.name:
        raise ProjectError("no file name given to save the project to")
    if path.suffix != SUFFIX:
        path = path.with_suffix(SUFFIX)
    try:
        record = save_pair(project, path, lambda record: dumps_project(project, record, path))
    except OSError as exc:
        raise ProjectError(f"cannot save: {exc.strerror or exc}", path) from None
    wpath = project.weights_path(path)
    for saved in (path, wpath, pending_weights_path(wpath)):
        remove_stale_temps(saved)
    project.path = path
    project.weights_record = record
    return path


# at the end: these modules use ProjectError and Project defined above
from .weights_file import (  # noqa: F401 (load_weights, save_weights: re-exported)
    load_weights,
    paired_weights,
    pending_weights_path,
    previous_weights_path,
    save_pair,
    save_weights,
)


