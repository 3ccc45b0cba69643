"""The k-sparse pattern exporters emit for a top-k activation, as Studio's TopK layer:

    idx = TopK(x, k).indices;  mask = ScatterElements(zeros, idx, ones);  y = x * mask
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layout import View
from .onnx_import import Const, Importer


@dataclass(frozen=True)
class TopKIndices:
    """The indices output of TopK on `x` (only a scatter into a 0/1 mask may use it)."""

    x: View
    k: int

    def shape_at(self, n: int) -> tuple[int, ...]:
        return (*self.x.shape_at(n)[:-1], self.k)


@dataclass(frozen=True)
class TopKMask:
    """1 at the k largest entries of `x`, else 0 (only `x * mask` may use it)."""

    x: View
    k: int


def topk(imp: Importer, node):
    from .onnx_import import attrs

    x = imp.view(node)
    at = attrs(node)
    if at.get("axis", -1) % x.rank != x.rank - 1 or not at.get("largest", 1) or x.rank != 2:
        raise imp.error(node, "only the k largest of the last axis of (N, F) tensors (a "
                        "k-sparse activation) have a Studio layer")
    k = int(imp.const(node, 1, "k").reshape(-1)[0])
    if imp.used(node.output[0]):
        raise imp.error(node, "the top-k values output has no Studio layer (only a k-sparse "
                        "mask built from the indices)")
    return [None, TopKIndices(x, k)]


def scatter_elements(imp: Importer, node):
    from .onnx_import import attrs

    data, idx, upd = (imp.value(node, i) for i in range(3))
    if isinstance(idx, TopKIndices) and isinstance(data, Const) and isinstance(upd, Const) \
            and all(not np.any(a) for a in data.values()) \
            and all(np.all(a == 1) for a in upd.values()) \
            and attrs(node).get("axis", 0) % idx.x.rank == idx.x.rank - 1:
        return [TopKMask(idx.x, idx.k)]
    raise imp.error(node, "only the 0/1 mask of a top-k selection has a Studio layer")


def masked(imp: Importer, node):
    """Mul(x, TopKMask of x) -> TopK; None when the Mul is not that pattern."""
    a, b = imp.value(node, 0), imp.value(node, 1)
    if isinstance(a, TopKMask):
        a, b = b, a
    if not isinstance(b, TopKMask):
        return None
    if a != b.x:
        raise imp.error(node, "the top-k mask multiplies a different tensor than it was "
                        "computed from")
    wire = imp.materialize(node, a)
    return [imp.wrap(imp.add(node, "sparse.TopK", {"k": b.k}, [wire]))]


def shape_of_special(value, imp: Importer):
    """Shape of a TopK index output (exporters build the ones of the mask from it)."""
    if isinstance(value, TopKIndices):
        vals = [np.array(value.shape_at(n), np.int64) for n in imp.batches]
        return Const(vals[0], None if np.array_equal(*vals) else vals[1])
    return None
