"""Weights read on first use: `graph.weights` of a project opened with
load_project(weights="lazy").

Opening, validating, summarising or exporting a script needs the graph, not its tensors: for
a VGG-16 the weights file is half a gigabyte, and reading it would double the memory of a
command that never looks at it. LazyWeights is the graph's `{node id: {tensor: array}}`
mapping whose first real use (a lookup, iteration, len, truth value, an edit) reads the
weights that belong to the project, with every check of an eager load (weights_file.py):
the pair's checksum, the declared sizes, nothing unpickled. A failure then raises the same
ProjectError, naming the file, that opening eagerly would have raised.

Copies (Graph.copy) share the source without reading it: each copy reads on its own first
use, so exporting a part of a graph reads the file only if that part needs weights.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

Weights = dict[str, dict[str, Any]]


class WeightsSource:
    """Reads the weights once (`read()`: the paired weights as loaded eagerly) and keeps
    them for every LazyWeights over it."""

    def __init__(self, read: Callable[[], Weights], describe: str):
        self._read = read
        self.describe = describe   # what is read, for messages and repr
        self._weights: Weights | None = None
        self.reads = 0             # how many times the file was read (tests, benchmarks)

    def weights(self) -> Weights:
        if self._weights is None:
            self.reads += 1
            self._weights = self._read()
        return self._weights


class LazyWeights(MutableMapping):
    """node id -> {tensor name: array}, read from `source` on first use."""

    def __init__(self, source: WeightsSource):
        self.source = source
        self._data: Weights | None = None

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def _weights(self) -> Weights:
        if self._data is None:   # own per-node dicts: editing a copy leaves the others alone
            self._data = {nid: dict(t) for nid, t in self.source.weights().items()}
        return self._data

    def __getitem__(self, nid: str) -> dict:
        return self._weights()[nid]

    def __setitem__(self, nid: str, tensors: dict) -> None:
        self._weights()[nid] = tensors

    def __delitem__(self, nid: str) -> None:
        del self._weights()[nid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._weights())

    def __len__(self) -> int:
        return len(self._weights())

    def copy(self) -> MutableMapping:
        """A copy that reads on its own first use (or a dict, once read)."""
        if self._data is None:
            return LazyWeights(self.source)
        return {nid: dict(t) for nid, t in self._data.items()}

    def __repr__(self) -> str:
        state = f"{len(self._data)} nodes" if self._data is not None else "not read yet"
        return f"<LazyWeights {self.source.describe}: {state}>"


def copy_weights(weights: MutableMapping) -> MutableMapping:
    """A copy of a graph's weights (per-node dicts copied; a LazyWeights stays unread)."""
    if isinstance(weights, LazyWeights):
        return weights.copy()
    return {nid: dict(t) for nid, t in weights.items()}
