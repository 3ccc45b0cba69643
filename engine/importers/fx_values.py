"""What a traced value is while the torch.fx front end builds the Studio graph.

Values of nodes that do not depend on the input's values (sizes, shapes, flags, tensors made
from parameters alone) are not here: the importer reads them from the recorded runs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .builder import Wire


@dataclass(frozen=True)
class Tensor:
    """A tensor of the Studio graph, batch first. The model's tensor may have its axes in
    another order (after `permute`/`transpose` that move the batch): it is the Studio tensor
    permuted by `perm` (its axis i is the Studio tensor's axis perm[i]); None = same order."""

    wire: Wire
    perm: tuple[int, ...] | None = None

    def permuted(self, order) -> Tensor:
        base = self.perm or tuple(range(len(order)))
        perm = tuple(base[i] for i in order)
        return Tensor(self.wire, None if perm == tuple(range(len(perm))) else perm)


@dataclass
class Items:
    """A tuple of values (chunk/split/unbind results, `max(dim)`'s (values, indices)):
    each item is built when the model uses it."""

    makers: list[Callable[[], Any]]
    built: dict[int, Any] = field(default_factory=dict)

    def item(self, i: int):
        if i not in self.built:
            self.built[i] = self.makers[i]()
        return self.built[i]


@dataclass(frozen=True)
class AttentionOut:
    """The (output, weights) tuple of nn.MultiheadAttention."""

    out: Tensor


@dataclass(frozen=True)
class Skip:
    """A node that adds nothing to the graph (a passed shape check, a dead branch)."""


SKIP = Skip()


def expand_index(items: list, rank: int) -> list:
    """A getitem index over `rank` axes with '...' expanded and missing axes filled with ':'
    (None entries stay, they insert axes)."""
    n_axes = sum(1 for i in items if i is not None and i is not Ellipsis)
    fill = [slice(None)] * (rank - n_axes)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        return items[:at] + fill + items[at + 1:]
    return items + fill


def is_full(item) -> bool:
    return isinstance(item, slice) and item == slice(None)


def translate_index(items: list, perm: tuple[int, ...] | None, rank: int):
    """(Studio index over the sample axes, perm of the result) for indexing a model tensor of
    `rank` axes that is a Studio tensor permuted by `perm`. ValueError if the index touches
    the batch axis."""
    if perm is None:
        n_axes = sum(1 for i in items if i is not None and i is not Ellipsis)
        if items and is_full(items[0]):
            return items[1:], None  # the rest as written (a '...' in it stays)
        if items and items[0] is Ellipsis and n_axes < rank:
            return items, None  # '...' covers the batch and maybe more: keep it as written
        items = expand_index(items, rank)
        if not items or not is_full(items[0]):
            raise ValueError("indexes the batch axis")
        return items[1:], None
    items = expand_index(items, rank)
    if any(i is None for i in items):
        raise ValueError("inserts an axis into a tensor whose batch axis was moved")
    studio = [slice(None)] * rank
    for i, item in enumerate(items):
        studio[perm[i]] = item
    if not is_full(studio[0]):
        raise ValueError("indexes the batch axis")
    removed = {perm[i] for i, item in enumerate(items) if isinstance(item, int)}
    kept = [perm[i] for i, item in enumerate(items) if not isinstance(item, int)]
    new = tuple(a - sum(1 for r in removed if r < a) for a in kept)
    return studio[1:], (None if new == tuple(range(len(new))) else new)


def trim(items: list) -> list:
    """Drop trailing ':' entries (x[:, 0, :] is x[:, 0])."""
    items = list(items)
    while items and is_full(items[-1]):
        items.pop()
    return items
