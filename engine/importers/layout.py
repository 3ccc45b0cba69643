"""Where the batch axis is: tensors of a source graph as views of batch-first Studio tensors.

A Studio tensor always has the batch as axis 0. ONNX graphs move it: a sequence-first LSTM
takes (L, N, F), TF-style graphs transpose NHWC <-> NCHW around every convolution, and
exported multi-head attention folds the heads into the batch. The ONNX front end therefore
keeps each tensor as a `View` of a Studio wire:

    tensor = T.reshape(N, *split).permute(atom order).reshape(tensor shape)

`split` refines the wire's per-sample shape into atoms 0..k-1 (plus the batch atom `B`); each
axis of the tensor is a group of atoms merged in order. Transpose and Reshape only regroup
atoms, adding no node; `Views` adds a Reshape and/or a Permute only when a layer needs its input
batch-first in the source layout (`materialize`) or in atom order (`canonical`), so Permutes
appear only where the model needs them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .builder import GraphBuilder, ImportModelError, Origin, Wire

B = -1  # the batch atom
Dim = tuple[int, int]  # (k, b): an axis of size k·N**b, N the batch size (b is 0 or 1)


class LayoutError(ValueError):
    """A reshape or transpose that Studio cannot express with the batch kept whole."""


@dataclass(frozen=True)
class View:
    """A tensor of the source graph as a view of Studio wire `wire` (see the module doc)."""

    wire: Wire
    base: tuple[int, ...]                  # the wire's per-sample shape
    split: tuple[int, ...]                 # sizes of atoms 0..k-1
    groups: tuple[tuple[int, ...], ...]    # per tensor axis: its atoms, outer first

    @classmethod
    def of(cls, wire: Wire, shape: tuple[int, ...], batch_axis: int = 0) -> View:
        """The Studio tensor itself (batch first), or with its batch moved to `batch_axis`."""
        shape = tuple(shape)
        groups = [(i,) for i in range(len(shape))]
        groups.insert(batch_axis, (B,))
        return cls(wire, shape, shape, tuple(groups))

    # what the tensor looks like -------------------------------------------------------
    @property
    def rank(self) -> int:
        return len(self.groups)

    def atoms(self) -> list[int]:
        return [a for g in self.groups for a in g]

    def dims(self) -> list[Dim]:
        out = []
        for g in self.groups:
            k = math.prod(self.split[a] for a in g if a != B)
            out.append((k, 1 if B in g else 0))
        return out

    def shape_at(self, batch: int) -> tuple[int, ...]:
        """The tensor's shape for a batch of `batch` samples."""
        return tuple(k * batch ** b for k, b in self.dims())

    def batch_axis(self) -> int | None:
        """The axis that is the batch alone (size-1 atoms aside), or None."""
        for i, g in enumerate(self.groups):
            if B in g:
                return i if all(self.split[a] == 1 for a in g if a != B) else None
        return None

    # regrouping (no nodes) -----------------------------------------------------------
    def transpose(self, perm) -> View:
        perm = [p % self.rank for p in perm]
        if sorted(perm) != list(range(self.rank)):
            raise LayoutError(f"perm {list(perm)} is not a permutation of {self.rank} axes")
        return View(self.wire, self.base, self.split, tuple(self.groups[p] for p in perm))

    def reshape(self, target: list[Dim]) -> View:
        """The tensor reshaped to `target` (C order); atoms are split where a target axis
        ends inside one. LayoutError if the batch would be split or mixed into a smaller axis."""
        split = list(self.split)
        seq = [a for a in self.atoms() if a == B or split[a] != 1]
        groups: list[list[int]] = []
        i = 0
        for k, b in target:
            group: list[int] = []
            while k != 1 or b:
                if i >= len(seq):
                    raise LayoutError("the sizes do not match")
                a = seq[i]
                if a == B:
                    if not b:
                        raise LayoutError("it would mix the batch into another axis")
                    b, i = 0, i + 1
                    group.append(B)
                elif k % split[a] == 0:
                    k //= split[a]
                    group.append(a)
                    i += 1
                elif split[a] % k == 0 and not b:  # the axis ends inside atom a: split it
                    outer, inner = k, split[a] // k
                    split[a:a + 1] = [outer, inner]
                    seq = [x + 1 if x > a else x for x in seq]
                    groups = [[x + 1 if x > a else x for x in g] for g in groups]
                    group.append(a)
                    seq[i] = a + 1
                    k = 1
                else:
                    raise LayoutError("the sizes do not match")
            groups.append(group)
        if i != len(seq):
            raise LayoutError("the sizes do not match")
        return View(self.wire, self.base, tuple(split), tuple(tuple(g) for g in groups))


def _name(origin: Origin, what: str) -> str:
    return f"{origin.name}_{what}"


class Views:
    """Adds the Reshape/Permute nodes that turn a View into a Studio tensor."""

    def __init__(self, builder: GraphBuilder):
        self.builder = builder

    def _reshape(self, wire: Wire, shape, origin: Origin) -> Wire:
        if not shape:
            raise ImportModelError("a tensor with only the batch axis (one value per sample) "
                                   "has no Studio equivalent here", origin)
        if len(shape) == 1:
            return self.builder.add("core.Flatten", {}, [wire], origin,
                                    name=_name(origin, "flatten"))
        return self.builder.add("core.Reshape", {"shape": list(shape)}, [wire], origin,
                                name=_name(origin, "reshape"))

    def canonical(self, v: View, origin: Origin) -> View:
        """`v` on a wire whose axes are its atoms in the tensor's order (the batch first;
        atoms of size 1 dropped): at most a Reshape and a Permute."""
        atoms = v.atoms()
        if B not in atoms:
            raise ImportModelError("a tensor that does not depend on the batch is used where "
                                   "Studio needs one that does", origin)
        big = [a for a in range(len(v.split)) if v.split[a] != 1]
        order = [a for a in atoms if a != B and v.split[a] != 1]
        if sorted(order) != big:
            raise ImportModelError("internal: an axis of the view was lost", origin)
        if not big and v.split:  # every axis is 1: keep one so the sample is not empty
            big = order = [next((a for a in atoms if a != B), 0)]
        squeezed = tuple(v.split[a] for a in big)
        wire = v.wire
        if squeezed != v.base:
            wire = self._reshape(wire, squeezed, origin)
        if order != big:
            wire = self.builder.add("core.Permute", {"dims": [big.index(a) + 1 for a in order]},
                                    [wire], origin, name=_name(origin, "permute"))
        sizes = tuple(v.split[a] for a in order)
        index = {a: i for i, a in enumerate(order)}
        groups = tuple(tuple(B if a == B else index[a] for a in g if a == B or a in index)
                       for g in v.groups)
        return View(wire, sizes, sizes, groups)

    def materialize(self, v: View, origin: Origin, what: str = "its input") -> Wire:
        """A Studio wire holding the tensor of `v` as it is in the source (batch first)."""
        if v.batch_axis() != 0:
            where = "is merged with another axis" if v.batch_axis() is None else \
                f"is axis {v.batch_axis()}"
            raise ImportModelError(f"the batch axis of {what} {where}; Studio keeps the batch "
                                   "as axis 0", origin)
        c = self.canonical(v, origin)
        dims = c.dims()[1:]
        if any(b for _, b in dims):
            raise ImportModelError(f"the batch axis of {what} is used twice", origin)
        shape = tuple(k for k, _ in dims)
        return c.wire if shape == c.base else self._reshape(c.wire, shape, origin)

    def last_axis(self, v: View, origin: Origin, what: str = "its input") -> View:
        """`v` canonical, for a layer acting on the last axis (Linear, LayerNorm, Softmax):
        the leading axes may be in any layout, the last axis must be one atom."""
        c = self.canonical(v, origin)
        last = c.groups[-1] if c.groups else ()
        if not last or B in last:
            raise ImportModelError(f"the last axis of {what} is the batch", origin)
        if len(last) > 1:  # merge the last atoms into one axis (Flatten before a Linear)
            base = (*c.base[:len(c.base) - len(last)], math.prod(c.base[-len(last):]))
            wire = self._reshape(c.wire, base, origin)
            lead = len(base) - 1
            groups = (*c.groups[:-1], (lead,))
            c = View(wire, base, base, groups)
        return c

    def replace_last(self, c: View, wire: Wire, size: int) -> View:
        """The canonical view `c` with its wire replaced by a layer's output whose last atom
        now has `size` (Linear: out_features)."""
        base = (*c.base[:-1], size)
        return View(wire, base, base, c.groups)


def linear_params(out_features: int, bias: bool, sample_rank: int) -> dict:
    """core.Linear's params for an input with `sample_rank` axes after the batch: on more
    than one axis it acts on the last one at every position (when the spec offers that)."""
    from ..layers import REGISTRY

    params = {"out_features": int(out_features), "bias": bool(bias)}
    if sample_rank > 1 and any(p.name == "every_position" for p in
                               REGISTRY["core.Linear"].params):
        params["every_position"] = True
    return params
