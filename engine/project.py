"""The `.nnproj` project file: versioned JSON, loaded in stages, saved atomically.

Stages: parse (JSON text -> dict) -> records (every field type-checked, errors name the field)
-> migrate (older format versions upgraded; newer ones refused) -> build (Graph objects).
Trained weights live beside the project in `<name>.safetensors`; nothing is ever unpickled.
"""
from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .graph import Graph, GraphError, check_name
from .layers import ParamError, RegistryError

FORMAT_VERSION = 2
SUFFIX = ".nnproj"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NODES = 100_000


class ProjectError(Exception):
    """A project file could not be read or written. The message names the file and the field."""

    def __init__(self, message: str, path: str | os.PathLike | None = None,
                 field: str | None = None):
        self.path = str(path) if path is not None else None
        self.field = field
        where = f"{self.path}: " if self.path else ""
        at = f"{field}: " if field else ""
        super().__init__(f"{where}{at}{message}")


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

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def name(self) -> str:
        return self.meta.get("name") or (self.path.stem if self.path else "untitled")

    def weights_path(self, path: Path | None = None) -> Path | None:
        p = path or self.path
        return p.with_suffix(".safetensors") if p else None

    def runs_dir(self) -> Path:
        return self.folder / f"{self.path.stem if self.path else 'untitled'}.runs"

    def resolve_data_path(self, rel: str) -> Path:
        """A data path from the project file, resolved against the project folder. Relative
        paths may not climb out of the folder (a hostile file cannot point at ../../secret)."""
        try:
            p = Path(rel).expanduser()
            if p.is_absolute():
                return p
            base = self.folder.resolve()
            full = (base / p).resolve()
        except (TypeError, ValueError, OSError, RuntimeError) as exc:  # NUL byte, symlink loop
            raise ProjectError(f"data path {rel!r} is not a usable path ({exc})", self.path,
                               "dataset.path") from None
        if base != full and base not in full.parents:
            raise ProjectError(f"data path {rel!r} leaves the project folder", self.path,
                               "dataset.path")
        return full

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
    s = repr(value)
    return s if len(s) <= 40 else s[:37] + "..."


def _records(data: dict, path) -> dict:
    if "format_version" not in data:
        raise ProjectError("missing field (is this a Studio project?)", path, "format_version")
    _expect(data["format_version"], int, "format_version", path)
    for key in ("meta", "dataset", "training", "view", "sweep"):
        _expect(data.setdefault(key, {}), dict, key, path)
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
            why = f"duplicate node id {nd['id']!r}" if nd["id"] else "a node id cannot be empty"
            raise ProjectError(f"{why} (node {nd['name']!r})", path, f"{w}.id")
        try:
            check_name(nd["name"])
        except GraphError as exc:
            raise ProjectError(str(exc), path, f"{w}.name") from None
        try:
            g.add_node_dict(nd)
        except RegistryError as exc:
            raise ProjectError(f"{exc} (node {nd['name']!r})", path, f"{w}.type") from None
        except (ParamError, GraphError) as exc:
            raise ProjectError(f"node {nd['name']!r}: {exc}", path, f"{w}.params") from None
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
                   Path(path) if path else None, data["sweep"])


def loads_project(text: str, path=None) -> Project:
    return project_from_dict(_parse(text, path), path)


def load_project(path: str | os.PathLike, weights: bool = True) -> Project:
    """Read a `.nnproj` file (and its weights beside it, if any). Raises ProjectError."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ProjectError(f"the file is {size // 2**20} MB; project files are at most "
                               f"{MAX_FILE_BYTES // 2**20} MB", path)
        raw = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"cannot read the file: {exc.strerror or exc}", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(f"not a text file (invalid UTF-8 at byte {exc.start})", path) \
            from None
    project = loads_project(text, path)
    wpath = project.weights_path()
    if weights and wpath and wpath.exists():
        project.graph.weights = load_weights(wpath, project.graph)
    return project


def dumps_project(project: Project) -> str:
    return json.dumps(project.to_dict(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new temp file beside `path`, with the permissions the saved file should end up with:
    the old file's mode, or the umask's default (mkstemp's 0600 would make projects private)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:
            continue
        try:
            if hasattr(os, "fchmod") and path.exists():
                os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))
        except OSError:
            pass
        return fd, tmp
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` so that the file is always the old or the new content, never
    half: temp file in the same folder, fsync, rename over, fsync the folder."""
    path = Path(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename inside `folder` durable (a no-op where the filesystem cannot)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory


def save_project(project: Project, path: str | os.PathLike | None = None) -> Path:
    """Save atomically as JSON (sorted keys); weights, if any, beside it as safetensors."""
    path = Path(path or project.path or "")
    if not path.name:
        raise ProjectError("no file name given to save the project to")
    if path.suffix != SUFFIX:
        path = path.with_suffix(SUFFIX)
    try:
        atomic_write(path, dumps_project(project).encode("utf-8"))
        if project.graph.weights:
            save_weights(project.weights_path(path), project.graph.weights)
    except OSError as exc:
        raise ProjectError(f"cannot save: {exc.strerror or exc}", path) from None
    for saved in (path, project.weights_path(path)):
        remove_stale_temps(saved)
    project.path = path
    return path


def remove_stale_temps(path: Path, older_than: float = 60.0) -> list[Path]:
    """Delete atomic_write temp files of `path` (`.NAME.XXXXXXXX.tmp`) left by a killed save
    at least `older_than` seconds ago (a younger one may belong to a save in progress).
    Best effort: returns the files removed."""
    import glob
    import re
    import time

    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}\.tmp")
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            st = tmp.lstat()
            if pattern.fullmatch(tmp.name) and stat.S_ISREG(st.st_mode) and \
                    time.time() - st.st_mtime >= older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            pass
    return removed


# -- weights ----------------------------------------------------------------------------------

def save_weights(path: str | os.PathLike, weights: dict[str, dict[str, Any]]) -> None:
    """Per-node tensors to safetensors, keys 'node_id/tensor', written atomically."""
    import numpy as np
    from safetensors.numpy import save

    flat = {}
    for nid, tensors in weights.items():
        for key, t in tensors.items():
            arr = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
            flat[f"{nid}/{key}"] = np.ascontiguousarray(arr).reshape(np.shape(arr))  # keep 0-d
    atomic_write(path, save(flat, metadata={"format": "studio-node-weights"}))


def load_weights(path: str | os.PathLike, graph: Graph | None = None) -> dict:
    """Read per-node tensors (numpy arrays) from a safetensors file. Raises ProjectError."""
    from safetensors.numpy import load

    try:
        flat = load(Path(path).read_bytes())
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise ProjectError(f"the weights file is not valid safetensors ({exc})", path) \
            from None
    out: dict[str, dict[str, Any]] = {}
    for key, arr in flat.items():
        nid, _, name = key.partition("/")
        if not name:
            raise ProjectError(f"unexpected tensor name {key!r}", path)
        if graph is not None and nid not in graph.nodes:
            continue
        out.setdefault(nid, {})[name] = arr
    return out
