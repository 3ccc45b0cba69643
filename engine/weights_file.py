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
import json
import os
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from .atomic import atomic_write, atomic_write_blocks, fsync_dir
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
    return b"".join(weights_blocks(weights))


def weights_blocks(weights: dict[str, dict[str, Any]]):
    """weights_bytes as a stream: the safetensors header, then each tensor's own memory in
    blocks (a big model is never copied whole into one bytes object). The tensors are
    gathered and the header made before the first block is yielded: a lazy weights file is
    read and an unsaveable tensor refused (ValueError) before anything is written."""
    return weights_stream(weights)[1]


def weights_stream(weights: dict[str, dict[str, Any]]):
    """(the file's size in bytes, weights_blocks(weights))."""
    return safetensors_stream({f"{nid}/{key}": t for nid, tensors in weights.items()
                               for key, t in tensors.items()},
                              {"format": "studio-node-weights"})


def safetensors_stream(tensors: dict[str, Any], metadata: dict[str, str]):
    """A safetensors file of `tensors` (numpy arrays or torch tensors, by name) as
    (its size in bytes, its blocks): the header, then each tensor's own memory (nothing is
    copied whole). Raises ValueError for a dtype safetensors cannot hold here."""
    import numpy as np

    from .weights_stream import BLOCK, DTYPES

    names = {np.dtype(v): k for k, v in DTYPES.items()}
    flat = []
    for name, t in tensors.items():
        kind = None
        if hasattr(t, "detach"):
            t = t.detach().cpu()
            if str(t.dtype) == "torch.bfloat16":   # numpy has no bfloat16: its bits as int16
                import torch

                kind, t = "BF16", t.view(torch.int16)
            t = t.numpy()
        arr = np.asarray(t)
        arr = np.ascontiguousarray(arr, arr.dtype.newbyteorder("<")).reshape(np.shape(arr))
        if arr.dtype not in names:
            raise ValueError(f"tensor {quote(name)} has dtype {arr.dtype}, "
                             "which safetensors cannot hold")
        flat.append((name, arr, kind or names[arr.dtype]))
    flat.sort(key=lambda item: (-item[1].dtype.itemsize, item[0]))   # aligned, as safetensors
    header: dict[str, Any] = {"__metadata__": dict(metadata)}
    offset = 0
    for name, arr, kind in flat:
        header[name] = {"dtype": kind, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    table = json.dumps(header, separators=(",", ":")).encode("utf-8")
    table += b" " * (-len(table) % 8)
    head = len(table).to_bytes(8, "little") + table
    return len(head) + offset, _blocks(head, [a for _n, a, _k in flat], BLOCK)


def _blocks(head: bytes, arrays: list, size: int):
    import numpy as np

    yield head
    for arr in arrays:
        raw = memoryview(arr.reshape(-1).view(np.uint8))
        for start in range(0, len(raw), size):
            yield raw[start:start + size]


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
        found = [wpath] if os.path.lexists(wpath) else []
    else:
        found = [p for p in (wpath, pending_weights_path(wpath)) if os.path.lexists(p)]
    if not found:
        return {}  # the project was copied without its weights: it opens untrained
    from .weights_lazy import LazyWeights, WeightsSource

    if not lazy:
        return WeightsSource(partial(_read_source, graph), str(wpath), found, record).weights()
    nodes: frozenset = frozenset()
    for path in found:
        nodes |= check_weights_file(path)
    return LazyWeights(WeightsSource(partial(_read_source, graph), str(wpath), found, record,
                                     nodes=nodes & graph.nodes))


def _read_source(graph, source, progress: Progress | None = None) -> dict:
    """What a lazy source reads: its files as they are then (Save As may have moved it to
    a copy of the same bytes)."""
    wpath = Path(source.describe)
    if source.record is LEGACY:
        return load_weights(wpath, graph, progress)
    return _read_pair(graph, wpath, source.found, source.record, progress)


def check_weights_file(path: Path) -> frozenset:
    """What can be known of a weights file without reading its tensors: a regular file
    within the memory budget whose safetensors header is sound and fits the file's size.
    Returns the ids of the nodes its header names tensors of. Raises ProjectError naming
    the file."""
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
    return frozenset(name.partition("/")[0] for name in json.loads(head[8:8 + n])
                     if name != "__metadata__")


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


def save_pair(project: Project, path: Path, text_for,
              progress: Progress | None = None) -> dict | None:
    """Write the project file at `path` and its weights as a pair (see the module docstring).
    `text_for(record)` gives the project file's text naming the weights record; it is made
    before anything is written (it refuses unsaveable values). `progress(done, total)`:
    the weights' bytes written so far. Returns the record."""
    progress = progress or (lambda _done, _total: None)
    weights = project.graph.weights
    if not weights:
        atomic_write(path, text_for(None).encode("utf-8"))
        return None
    kept = _kept_pair(project, path)
    if kept is not None:   # the weights on disk are already this project's: keep them
        atomic_write(path, text_for(kept).encode("utf-8"))
        return kept
    copied = _copied_pair(project, path, text_for, progress)
    if copied is not None:
        return copied
    try:
        total, blocks = weights_stream(weights)   # a lazy file is read here, before writing
    except ProjectError:
        raise   # a lazily read weights file found damaged: the error names it
    except Exception as exc:  # noqa: BLE001 - numpy refuses in its own types
        raise ProjectError(f"the weights cannot be saved ({type(exc).__name__}: {exc})",
                           path) from None
    text_for({"sha256": "0" * 64})   # refuses unsaveable values before anything is written
    digest = hashlib.sha256()
    wpath = project.weights_path(path)
    atomic_write_blocks(pending_weights_path(wpath),   # 1. the new weights, beside the old
                        _counted(blocks, total, progress, digest))
    record = {"sha256": digest.hexdigest()}
    _commit_pair(path, text_for(record).encode("utf-8"), wpath, record)
    return record


def _counted(blocks, total: int, progress: Progress, digest=None):
    """`blocks` passed on, hashed into `digest` and counted into `progress(done, total)`."""
    done = 0
    progress(0, total)
    for block in blocks:
        if digest is not None:
            digest.update(block)
        yield block
        done += len(block)
        progress(done, total)


def _commit_pair(path: Path, text: bytes, wpath: Path, record: dict) -> None:
    """Steps 2-4 of a save, once the new weights are in their pending file."""
    atomic_write(path, text)                    # 2. the project file naming them
    _keep_previous(wpath, record["sha256"])     # 3. old weights -> previous version
    os.replace(pending_weights_path(wpath), wpath)   # 4. new weights in place
    fsync_dir(wpath.parent)


def _copied_pair(project: Project, path: Path, text_for, progress: Progress) -> dict | None:
    """Save As of a project whose weights are a lazy file, unread and unedited: the file's
    bytes are copied (streamed in 1 MB blocks, hashed on the way, the copy kept only if its
    SHA-256 is the one the project names) instead of read and re-encoded. The lazy weights
    then read the copy. None when there is nothing to copy (the usual save reads them and
    says what is wrong)."""
    from .weights_lazy import LazyWeights

    weights, record = project.graph.weights, project.weights_record
    if not (isinstance(weights, LazyWeights) and weights.untouched and isinstance(record, dict)):
        return None
    text = text_for(record).encode("utf-8")
    wpath = project.weights_path(path)
    for source in weights.source.found:
        if _copy_verified(source, pending_weights_path(wpath), record["sha256"], progress):
            break
    else:
        return None
    _commit_pair(path, text, wpath, record)
    weights.source.rebind(str(wpath), [wpath])
    return record


class _Mismatch(Exception):
    """The file copied is not the one the project names (it changed since the open)."""


def _copy_verified(source: Path, target: Path, sha256: str, progress: Progress) -> bool:
    """Copy `source` to `target` atomically if its bytes hash to `sha256` (else, or when it
    cannot be read, leave `target` as it was and return False)."""
    digest = hashlib.sha256()

    def blocks(f):
        yield from _counted(iter(lambda: f.read(1 << 20), b""), os.fstat(f.fileno()).st_size,
                            progress, digest)
        if digest.hexdigest() != sha256:
            raise _Mismatch

    try:
        with open_regular(source, memory_budget_mb() * 2**20) as f:
            atomic_write_blocks(target, blocks(f))
    except (_Mismatch, NotRegularFile, TooLarge, OSError):
        return False
    return True


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
