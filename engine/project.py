"""The `.nnproj` project file: versioned JSON, loaded in stages, saved atomically.

Stages: parse (JSON text -> dict) -> records (every field type-checked, errors name the field;
these two in project_records) -> migrate (older format versions upgraded; newer ones refused)
-> build (Graph objects).
Trained weights live beside the project in `<name>.safetensors`; nothing is ever unpickled.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .atomic import atomic_write, fsync_dir, remove_stale_temps  # noqa: F401 (re-exported)
from .graph import Graph, GraphError, check_name
from .guard.files import NotRegularFile, TooLarge, read_regular
from .guard.paths import BadPath, OutsideProject, resolve_user_path
from .guard.text import quote
from .layers import ParamError, RegistryError
from .project_records import (  # noqa: F401 (ProjectError and the limits are re-exported)
    LEGACY,
    MAX_DEPTH,
    MAX_NODES,
    ProjectError,
    field_key,
    parse_json,
    short,
    typed_records,
)

FORMAT_VERSION = 2
SUFFIX = ".nnproj"
MAX_FILE_BYTES = 64 * 1024 * 1024


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
        w = f"graph.blocks.{short(name)}"
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
        data = _migrate(typed_records(data, path), path)
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
    return project_from_dict(parse_json(text, path), path)


def load_project(path: str | os.PathLike, weights: bool | str = True) -> Project:
    """Read a `.nnproj` file (and the weights file that belongs to it, if any). Only a
    regular file of at most MAX_FILE_BYTES is read. Raises ProjectError. `weights`: True
    reads them now, False leaves them out, "lazy" reads them on first use of
    `graph.weights` (weights_lazy.py; a bad weights file then raises there)."""
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
        project.graph.weights = paired_weights(project, lazy=weights == "lazy")
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
                _check_text(k, f"{w}.{field_key(k)}" if w else field_key(k), path)
                stack.append((x, f"{w}.{field_key(k)}" if w else field_key(k), d + 1))
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


def save_project(project: Project, path: str | os.PathLike | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Save the project file (JSON, sorted keys) and its weights, if any, as a pair: a kill
    at any moment leaves the old pair or the new one (see engine.weights_file). Every value
    is checked before anything is written. `progress(done, total)`: bytes of weights
    written (or copied) so far. Raises ProjectError."""
    path = Path(path or project.path or "")
    if not path.name:
        raise ProjectError("no file name given to save the project to")
    if path.suffix != SUFFIX:
        path = path.with_suffix(SUFFIX)
    try:
        record = save_pair(project, path, lambda record: dumps_project(project, record, path),
                           progress)
    except OSError as exc:
        raise ProjectError(f"cannot save: {exc.strerror or exc}", path) from None
    wpath = project.weights_path(path)
    for saved in (path, wpath, pending_weights_path(wpath)):
        remove_stale_temps(saved)
    project.path = path
    project.weights_record = record
    return path


class _FrozenGraph(NamedTuple):
    """What saving needs of a graph, as it was when `frozen` was called."""
    data: dict
    weights: Any

    def to_dict(self) -> dict:
        return self.data


def snapshot_project(project: Project) -> Project:
    """A working copy a thread (training, a teaching view) can read while the user goes on
    with the project: the graph copied (a lazy weights file stays unread), the settings
    deep-copied."""
    return Project(project.graph.copy(), copy.deepcopy(project.dataset),
                   copy.deepcopy(project.training), copy.deepcopy(project.view),
                   copy.deepcopy(project.meta), project.path,
                   allow_outside_data=project.allow_outside_data)


def frozen(project: Project) -> Project:
    """What `save_project(project)` would write, taken now: the graph's record and the
    settings deep-copied, the weights' per-node tables copied (tensors are replaced by edits,
    never changed in place; a lazy file stays unread). A save off the GUI thread writes it
    while the user goes on editing the project."""
    from .weights_lazy import copy_weights

    graph = _FrozenGraph(copy.deepcopy(project.graph.to_dict()),
                         copy_weights(project.graph.weights))
    return dataclasses.replace(project, graph=graph, **{
        key: copy.deepcopy(getattr(project, key))
        for key in ("dataset", "training", "view", "meta", "sweep")})


# at the end: these modules use ProjectError and Project defined above
from .weights_file import (  # noqa: F401 (load_weights, save_weights: re-exported)
    load_weights,
    paired_weights,
    pending_weights_path,
    previous_weights_path,
    save_pair,
    save_weights,
)


