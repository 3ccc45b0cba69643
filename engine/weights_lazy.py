"""Weights read on first use: `graph.weights` of a project opened with
load_project(weights="lazy").

Opening, validating, summarising or exporting a script needs the graph, not its tensors: for
a VGG-16 the weights file is half a gigabyte, and reading it would double the memory of a
command that never looks at it. LazyWeights is the graph's `{node id: {tensor: array}}`
mapping whose first real use (a lookup, iteration, len) reads the weights that belong to the
project, with every check of an eager load (weights_file.py): the pair's checksum, the
declared sizes, nothing unpickled. A failure then raises the same ProjectError, naming the
file, that opening eagerly would have raised, and the mapping stays unread (a later use tries
again).

What needs no tensor data does not read: the truth value (an unread mapping has a weights
file, checked at open, so it is true), copies (Graph.copy: each copy reads on its own first
use, sharing one read of the file), and the edits of the graph around its nodes (a node
removed, put back by undo, set, cleared), which are kept and applied when the file is read.
So an editor can open, edit and show a big model and read its weights only for what runs it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

Weights = dict[str, dict[str, Any]]

#: `peek`: the node's tensors are those of the unread file (put back as they are by undo)
FROM_FILE = object()


class WeightsSource:
    """Reads the weights once (`read(source, progress=...)`: the paired weights of the
    source's files as loaded eagerly) and keeps them for every LazyWeights over it. `done` / `total`: the bytes read so far
    of the read under way (written by the reading thread, polled by a GUI)."""

    def __init__(self, read: Callable[..., Weights], describe: str,
                 found: list | None = None, record: Any = None,
                 nodes: frozenset | None = None):
        self._read = read
        self.describe = describe   # what is read, for messages and repr
        self.found = list(found or [])   # the files the read tries, in order
        self.record = record       # the project's weights record they are checked against
        #: the ids of the nodes with tensors in the files (from their headers; None: unknown)
        self.nodes = nodes
        self._weights: Weights | None = None
        self.reads = 0             # how many times the file was read (tests, benchmarks)
        self.done = self.total = 0
        self._lock = threading.Lock()   # a worker thread and the GUI thread read it once

    @property
    def read(self) -> bool:
        return self._weights is not None

    def weights(self) -> Weights:
        with self._lock:
            if self._weights is None:
                self.reads += 1
                self.done = self.total = 0
                self._weights = self._read(self, progress=self._progress)
            return self._weights

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def rebind(self, describe: str, found: list) -> None:
        """Read `found` (named `describe`) from now on: a copy of the same bytes made by
        Save As."""
        with self._lock:
            self.describe, self.found = describe, list(found)


class LazyWeights(MutableMapping):
    """node id -> {tensor name: array}, read from `source` on first use."""

    def __init__(self, source: WeightsSource, changes: dict | None = None):
        self.source = source
        self._data: Weights | None = None
        #: edits made while unread: node id -> its tensors, or None when removed
        self._changes: dict[str, dict | None] = dict(changes or {})

    @property
    def loaded(self) -> bool:
        return self._data is not None

    @property
    def untouched(self) -> bool:
        """Unread and unedited: the weights are exactly the source file's."""
        return self._data is None and not self._changes

    def _weights(self) -> Weights:
        if self._data is None:   # own per-node dicts: editing a copy leaves the others alone
            data = {nid: dict(t) for nid, t in self.source.weights().items()}
            for nid, tensors in self._changes.items():
                if tensors is None:
                    data.pop(nid, None)
                else:
                    data[nid] = tensors
            self._data, self._changes = data, {}
        return self._data

    def __bool__(self) -> bool:
        return self._data is None or bool(self._data)   # unread: the project has weights

    def __getitem__(self, nid: str) -> dict:
        if self._data is None and not self.in_file(nid):   # known without reading the file
            tensors = self._changes.get(nid)
            if tensors is None:
                raise KeyError(nid)
            return tensors
        return self._weights()[nid]

    def in_file(self, nid: str) -> bool:
        """True when the node's tensors are those of the file, not read yet (or when the
        file's header was not parsed): looking them up reads the file."""
        if self._data is not None or nid in self._changes:
            return False
        return self.source.nodes is None or nid in self.source.nodes

    def __setitem__(self, nid: str, tensors: dict) -> None:
        if self._data is None:
            self._changes[nid] = tensors
        else:
            self._data[nid] = tensors

    def __delitem__(self, nid: str) -> None:
        del self._weights()[nid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._weights())

    def __len__(self) -> int:
        return len(self._weights())

    def discard(self, nid: str) -> None:
        """Remove the node's tensors, if any, without reading the file."""
        if self._data is None:
            self._changes[nid] = None
        else:
            self._data.pop(nid, None)

    def peek(self, nid: str):
        """The node's tensors without reading the file: a dict, None (it has none) or
        FROM_FILE (those of the unread file; restore_weights puts them back)."""
        if self._data is not None:
            return self._data.get(nid)
        return self._changes.get(nid, FROM_FILE)

    def put_back(self, nid: str) -> None:
        """The node's tensors become those of the file again (undo of a removal)."""
        if self._data is None:
            self._changes.pop(nid, None)
        else:
            # no file access: the source was read (or the mapping was cleared)
            tensors = self.source.weights().get(nid) if self.source.read else None
            if tensors is None:
                self._data.pop(nid, None)
            else:
                self._data[nid] = dict(tensors)

    def clear(self) -> None:
        self._data, self._changes = {}, {}

    def copy(self) -> MutableMapping:
        """A copy that reads on its own first use (or a dict, once read)."""
        if self._data is None:
            return LazyWeights(self.source, {nid: None if t is None else dict(t)
                                             for nid, t in self._changes.items()})
        return {nid: dict(t) for nid, t in self._data.items()}

    def __repr__(self) -> str:
        state = f"{len(self._data)} nodes" if self._data is not None else "not read yet"
        return f"<LazyWeights {self.source.describe}: {state}>"


def copy_weights(weights: MutableMapping) -> MutableMapping:
    """A copy of a graph's weights (per-node dicts copied; a LazyWeights stays unread)."""
    if isinstance(weights, LazyWeights):
        return weights.copy()
    return {nid: dict(t) for nid, t in weights.items()}


def unread(weights: MutableMapping) -> bool:
    """True for a LazyWeights whose file is not read yet (into this mapping)."""
    return isinstance(weights, LazyWeights) and not weights.loaded


def peek_weights(weights: MutableMapping, nid: str):
    """A node's tensors without reading a lazy file (see LazyWeights.peek)."""
    return weights.peek(nid) if isinstance(weights, LazyWeights) else weights.get(nid)


def drop_weights(weights: MutableMapping, nid: str) -> None:
    """Remove a node's tensors, if any, reading nothing."""
    if isinstance(weights, LazyWeights):
        weights.discard(nid)
    else:
        weights.pop(nid, None)


def restore_weights(weights: MutableMapping, nid: str, tensors) -> None:
    """Put back what `peek_weights` gave before the node was removed."""
    if tensors is FROM_FILE:
        if isinstance(weights, LazyWeights):
            weights.put_back(nid)
    elif tensors is not None:
        weights[nid] = tensors
