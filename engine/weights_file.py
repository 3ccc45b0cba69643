"""Weights files beside a project: safetensors of per-node tensors, read with size checks,
saved as a pair with the project file.

The pair: the project file names the SHA-256 of its weights file ("weights": {"sha256": ...}).
Saving writes the new weights to a pending file first, then the project file (atomically),
then moves the pending file into place (the old weights become the previous version). A kill
at any moment leaves a project file whose weights are on disk: in place, or still pending.
Loading takes the file whose checksum the project names, so a reader always sees a matching
pair; a weights file that matches neither is refused, never loaded into the wrong model.
"""
from __future__ import annotations

import hashlib
import os
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from .atomic import atomic_write, fsync_dir
from .guard.files import (
    MAX_SAFETENSORS_HEADER,
    NotRegularFile,
    TooLarge,
    memory_budget_mb,
    open_regular,
    safetensors_declared_bytes,
)
from .guard.text import quote
from .project import LEGACY, Graph, Project, ProjectError
from .weights_stream import Progress, read_safetensors


def pending_weights_path(weights: Path) -> Path:
    """Where a save puts the new weights until the project file names them."""
    return weights.with_name(f".{weights.name}.pending")


def previous_weights_path(weights: Path) -> Path:
    """The weights a save replaced (`model.previous.safetensors`)."""
    return weights.with_name(f"{weights.stem}.previous{weights.suffix}")


def weights_bytes(weights: dict[str, dict[str, Any]]) -> bytes:
    """Per-node tensors as safetensors bytes, keys 'node_id/tensor'."""
    import numpy as np
    from safetensors.numpy import save

    flat = {}
    for nid, tensors in weights.items():
        for key, t in tensors.items():
            arr = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
            flat[f"{nid}/{key}"] = np.ascontiguousarray(arr).reshape(np.shape(arr))  # keep 0-d
    return save(flat, metadata={"format": "studio-node-weights"})


def save_weights(path: str | os.PathLike, weights: dict[str, dict[str, Any]]) -> None:
    """Per-node tensors to a safetensors file, written atomically (a run's checkpoint; a
    project's weights are saved with save_project, as a pair)."""
    atomic_write(path, weights_bytes(weights))


def load_weights(path: str | os.PathLike, graph: Graph | None = None,
                 progress: Progress | None = None) -> dict:
    """Read per-node tensors (numpy arrays) from a safetensors file, one tensor at a time
    (weights_stream.py). Raises ProjectError."""
    return _by_node(read_safetensors(path, progress)[0], path, graph)


def _by_node(flat: dict, path, graph: Graph | None) -> dict:
    """{'node/tensor': array} -> {node: {tensor: array}} (only `graph`'s nodes, if given)."""
    out: dict[str, dict[str, Any]] = {}
    for key, arr in flat.items():
        nid, _, name = key.partition("/")
        if not name:
            raise ProjectError(f"unexpected tensor name {quote(key)}"[:200], path)
        if graph is not None and nid not in graph.nodes:
            continue
        out.setdefault(nid, {})[name] = arr
    return out


def paired_weights(project: Project, lazy: bool = False):
    """The weights that belong to `project` as loaded (see the module docstring). `lazy`:
    a LazyWeights that reads them on first use (weights_lazy.py) when there is a file to
    read, else {}."""
    wpath = project.weights_path()
    record = project.weights_record
    if wpath is None or record is None:
        return {}
    # the tensors of the graph as opened (a lazy read comes after edits: a node removed
    # meanwhile is dropped by LazyWeights, and its undo needs the file's tensors)
    graph = _NodesOf(frozenset(project.graph.nodes)) if lazy else project.graph
    if record is LEGACY:  # a file saved before pairs: whatever weights file is beside it
        if not os.path.lexists(wpath):
            return {}
        read = partial(load_weights, wpath, graph)
    else:
        found = [p for p in (wpath, pending_weights_path(wpath)) if os.path.lexists(p)]
        if not found:
            return {}  # the project was copied without its weights: it opens untrained
        read = partial(_read_pair, graph, wpath, found, record)
    if not lazy:
        return read()
    from .weights_lazy import LazyWeights, WeightsSource

    for path in [wpath] if record is LEGACY else found:
        check_weights_file(path)
    return LazyWeights(WeightsSource(read, str(wpath), found=[wpath] if record is LEGACY
                                     else found, record=record))


def check_weights_file(path: Path) -> None:
    """What can be known of a weights file without reading its tensors: a regular file
    within the memory budget whose safetensors header is sound and fits the file's size.
    Raises ProjectError naming the file."""
    what = "the weights file"
    try:
        with open_regular(path, memory_budget_mb() * 2**20, what) as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else 0
            head += f.read(min(n, MAX_SAFETENSORS_HEADER))
    except (NotRegularFile, TooLarge) as exc:
        raise ProjectError(str(exc), path) from None
    except OSError as exc:
        raise ProjectError(f"cannot read {what}: {exc.strerror or exc}", path) from None
    try:
        declared = safetensors_declared_bytes(head, what)
    except ValueError as exc:
        raise ProjectError(f"the weights file is not valid safetensors ({exc})", path) \
            from None
    if declared > size - 8 - n:
        raise ProjectError(f"the weights file is not valid safetensors (its header declares "
                           f"{declared:,} bytes of tensors, the file holds {size - 8 - n:,})",
                           path)


class _NodesOf(NamedTuple):
    """What _by_node needs of a graph: its node ids."""
    nodes: frozenset


def _read_pair(graph, wpath: Path, found: list, record: dict,
               progress: Progress | None = None) -> dict:
    """The weights of the first file in `found` whose checksum is the one the project
    names (only those of `graph`'s nodes), read and hashed in one pass; a ProjectError
    naming the weights file otherwise."""
    damaged = None
    for path in found:
        try:
            flat, digest = read_safetensors(path, progress)
        except ProjectError as exc:
            damaged = damaged or (exc if path == wpath else None)
            continue
        if digest == record["sha256"]:
            return _by_node(flat, wpath, graph)
        del flat
    if damaged is not None:
        raise damaged   # a damaged file: say so
    raise ProjectError("this weights file does not belong to the project (its checksum "
                       "differs from the one the project file names: it was replaced "
                       "outside Studio); move it away to open the project without weights",
                       wpath)


def save_pair(project: Project, path: Path, text_for) -> dict | None:
    """Write the project file at `path` and its weights as a pair (see the module docstring).
    `text_for(record)` gives the project file's text naming the weights record; it is made
    before anything is written (it refuses unsaveable values). Returns the record."""
    weights = project.graph.weights
    if not weights:
        atomic_write(path, text_for(None).encode("utf-8"))
        return None
    kept = _kept_pair(project, path)
    if kept is not None:   # the weights on disk are already this project's: keep them
        atomic_write(path, text_for(kept).encode("utf-8"))
        return kept
    try:
        blob = weights_bytes(weights)   # a lazy file is read here, before anything is written
    except ProjectError:
        raise   # a lazily read weights file found damaged: the error names it
    except Exception as exc:  # noqa: BLE001 - numpy and safetensors refuse in their own types
        raise ProjectError(f"the weights cannot be saved ({type(exc).__name__}: {exc})",
                           path) from None
    record = {"sha256": hashlib.sha256(blob).hexdigest()}
    text = text_for(record).encode("utf-8")
    wpath = project.weights_path(path)
    pending = pending_weights_path(wpath)
    atomic_write(pending, blob)                 # 1. the new weights, beside the old ones
    atomic_write(path, text)                    # 2. the project file naming them
    _keep_previous(wpath, record["sha256"])     # 3. old weights -> previous version
    os.replace(pending, wpath)                  # 4. new weights in place
    fsync_dir(wpath.parent)
    return record


def _kept_pair(project: Project, path: Path) -> dict | None:
    """The project's weights record when saving to `path` needs no new weights file: its
    weights are a lazy file's, unread and unedited, and that file is the weights file of
    `path` whose checksum is still the one the project names (hashed in blocks: a big
    model's save over itself neither reads its tensors into memory nor rewrites them)."""
    from .weights_lazy import LazyWeights

    weights, record = project.graph.weights, project.weights_record
    wpath = project.weights_path(path)
    if not (isinstance(weights, LazyWeights) and weights.untouched and isinstance(record, dict)
            and Path(weights.source.describe).resolve() == wpath.resolve()):
        return None
    try:
        return record if _file_digest(wpath) == record["sha256"] else None
    except OSError:
        return None   # the usual save reads it and says what is wrong


def _file_digest(path: Path) -> str | None:
    """The SHA-256 of a regular file, read in blocks; None if there is none (missing, or
    e.g. a FIFO planted there). Raises OSError when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open_regular(path) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except (NotRegularFile, FileNotFoundError):
        return None
    return digest.hexdigest()


def _keep_previous(wpath: Path, digest: str) -> None:
    """Move the weights file being replaced to the previous version (unless identical)."""
    old = _file_digest(wpath)
    if old is not None and old != digest:
        os.replace(wpath, previous_weights_path(wpath))
