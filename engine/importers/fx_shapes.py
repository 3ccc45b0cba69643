"""Ops that move, pick or join values: reshape/view/flatten/squeeze, permute/transpose,
indexing and slicing, chunk/split/unbind, cat, expand/repeat, and ops that change nothing
(contiguous, a cast to the same dtype). Each handler takes (importer, fx node).

Permutes are lazy: the value remembers the model's axis order (fx_values.Tensor.perm) and a
Permute node is only added where a layer needs the batch first, so
`qkv.reshape(B, N, 3, h, d).permute(2, 0, 3, 1, 4)` followed by `unbind(0)` becomes Slices
of the batch-first tensor.
"""
from __future__ import annotations

from ..layers.tensor import format_index
from .fx_modules import Unsupported, require
from .fx_recurrent import Recurrent, item as recurrent_item, joined_state, squeeze_state
from .fx_values import AttentionOut, Items, Tensor, translate_index, trim


def reshape_to_output(ctx, node, x) -> Tensor:
    """Any reshape that keeps the batch: Flatten or Reshape to the shape the model made."""
    out = ctx.sample_shape(node)
    require(out is not None, "the reshape mixes the batch axis with other axes; Studio "
            "keeps the batch first")
    src = ctx.tensor(x, node)  # the model's tensor, batch first
    if tuple(ctx.meta(x).shape[1:]) == tuple(out):
        return Tensor(src)
    if len(out) == 1:
        return ctx.add(node, "core.Flatten", {}, [src])
    return ctx.add(node, "core.Reshape", {"shape": list(out)}, [src])


def _reshape(ctx, node):
    return reshape_to_output(ctx, node, node.args[0])


def _squeeze(ctx, node):
    value = ctx.env.get(node.args[0])
    if isinstance(value, Recurrent):
        return squeeze_state(value)
    return reshape_to_output(ctx, node, node.args[0])


def _alias(ctx, node):
    return ctx.tval(node.args[0], node)


def _same_dtype(ctx, node):
    """`.float()`, `.to(...)`, `.type_as(y)`: nothing when the dtype does not change."""
    require(ctx.meta(node).dtype == ctx.meta(node.args[0]).dtype,
            "Studio has no layer that changes a tensor's dtype")
    return ctx.tval(node.args[0], node)


def _dims(ctx, node, first: int):
    """The dims of permute(x, dims) / x.permute(*dims)."""
    rest = node.args[first:]
    dims = rest[0] if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else rest
    dims = dims or node.kwargs.get("dims", ())
    return [ctx.const(d, node, "the axis order") for d in dims]


def _permute(ctx, node):
    t = ctx.tval(node.args[0], node)
    rank = len(ctx.meta(node).shape)
    order = [d % rank for d in _dims(ctx, node, 1)]
    return t.permuted(order)


def _transpose(ctx, node):
    t = ctx.tval(node.args[0], node)
    rank = len(ctx.meta(node).shape)
    a = ctx.const(ctx.arg(node, 1, "dim0"), node) % rank
    b = ctx.const(ctx.arg(node, 2, "dim1"), node) % rank
    order = list(range(rank))
    order[a], order[b] = order[b], order[a]
    return t.permuted(order)


def _t(ctx, node):
    rank = len(ctx.meta(node).shape)
    require(rank == 2, "Tensor.t() on a (N, F) batch transposes the batch away")
    return ctx.tval(node.args[0], node).permuted([1, 0])


def take(ctx, node, x, items: list, value: Tensor | None = None):
    """x[items] for a Tensor value (items over the model's axes); `value` overrides x's."""
    t = value or ctx.tval(x, node)
    rank = len(ctx.rec[x].first.shape)
    try:
        studio, perm = translate_index(items, t.perm, rank)
    except ValueError as exc:
        raise Unsupported(f"the index {exc}; Studio keeps the batch whole") from None
    studio = trim(studio)
    if not studio:
        return Tensor(t.wire, perm)
    text = format_index(studio)
    wire = ctx.slice_of(node, t.wire, text, node.name).wire
    return Tensor(wire, perm)


def _index_items(ctx, node, index) -> list:
    raw = list(index) if isinstance(index, tuple) else [index]
    items = []
    for entry in raw:
        value = ctx.const(entry, node, "the index")
        if isinstance(value, slice):
            require(value.step in (None, 1) or (isinstance(value.step, int) and value.step > 0),
                    "a slice with a negative step")
        elif not (value is None or value is Ellipsis or isinstance(value, int)):
            raise Unsupported("indexing with a tensor or a list (advanced indexing) has no "
                              "Studio layer; use slices and single indices")
        items.append(value)
    return items


def _getitem(ctx, node):
    src, index = node.args
    value = ctx.env.get(src)
    if isinstance(value, Recurrent):
        return recurrent_item(ctx, node, value, ctx.const(index, node, "the index"))
    if isinstance(value, Items):
        i = ctx.const(index, node, "the index")
        require(isinstance(i, int), "slicing a tuple of tensors")
        return value.item(i)
    if isinstance(value, AttentionOut):
        require(ctx.const(index, node) == 0, "Studio's attention node does not output the "
                "attention weights")
        return value.out
    return take(ctx, node, src, _index_items(ctx, node, index))


def _pieces(ctx, node, x, dim: int, bounds: list[tuple[int, int]], select: bool) -> Items:
    """One item per (start, stop) along `dim` (a single index if `select`)."""
    dim %= len(ctx.meta(x).shape)  # take() refuses the batch axis

    def maker(start, stop):
        entry = start if select else slice(start, stop)
        full = stop - start == ctx.meta(x).shape[dim] and not select
        return lambda: ctx.tval(x, node) if full else take(ctx, node, x, [slice(None)] * dim
                                                              + [entry])
    return Items([maker(a, b) for a, b in bounds])


def _chunk(ctx, node):
    x = node.args[0]
    n = ctx.const(ctx.arg(node, 1, "chunks"), node)
    dim = ctx.const(ctx.arg(node, 2, "dim", 0), node)
    size = ctx.meta(x).shape[dim]
    step = -(-size // n)
    return _pieces(ctx, node, x, dim, [(a, min(a + step, size)) for a in range(0, size, step)],
                   False)


def _split(ctx, node):
    x = node.args[0]
    sizes = ctx.const(ctx.arg(node, 1, "split_size_or_sections",
                              node.kwargs.get("split_size")), node)
    dim = ctx.const(ctx.arg(node, 2, "dim", 0), node)
    total = ctx.meta(x).shape[dim]
    if isinstance(sizes, int):
        sizes = [min(sizes, total - a) for a in range(0, total, sizes)]
    bounds, a = [], 0
    for s in sizes:
        bounds.append((a, a + s))
        a += s
    return _pieces(ctx, node, x, dim, bounds, False)


def _unbind(ctx, node):
    x = node.args[0]
    dim = ctx.const(ctx.arg(node, 1, "dim", 0), node)
    return _pieces(ctx, node, x, dim, [(i, i + 1) for i in range(ctx.meta(x).shape[dim])],
                   True)


def _select(ctx, node):
    x = node.args[0]
    dim = ctx.const(ctx.arg(node, 1, "dim"), node)
    i = ctx.const(ctx.arg(node, 2, "index"), node)
    return take(ctx, node, x, [slice(None)] * (dim % len(ctx.meta(x).shape)) + [i])


def _narrow(ctx, node):
    x = node.args[0]
    dim = ctx.const(ctx.arg(node, 1, "dim"), node)
    start = ctx.const(ctx.arg(node, 2, "start"), node)
    length = ctx.const(ctx.arg(node, 3, "length"), node)
    return take(ctx, node, x, [slice(None)] * (dim % len(ctx.meta(x).shape))
                 + [slice(start, start + length)])


def _cat(ctx, node):
    parts = ctx.arg(node, 0, "tensors")
    require(isinstance(parts, (list, tuple)), "torch.cat of one tensor (not a list) joins "
            "the rows of its first axis, the batch")
    parts = list(parts)
    dim = ctx.const(ctx.arg(node, 1, "dim", 0), node)
    rank = len(ctx.meta(node).shape)
    values = [ctx.env.get(p) if not ctx.is_const(p) else None for p in parts]
    joined = joined_state(values)
    if joined is not None and dim % rank == 1:
        return joined
    if len(parts) == 1:
        return ctx.tval(parts[0], node)
    require(dim % rank != 0, "concatenation along the batch axis (dim=0)")
    tensors = [p for p in parts if not ctx.is_const(p)]
    like = ctx.tval(tensors[0], node)
    perms = {ctx.tval(p, node).perm for p in tensors}
    perm = perms.pop() if len(perms) == 1 and not any(ctx.is_const(p) for p in parts) else None
    if perm is not None:  # join in Studio's axis order, keep the model's order lazily
        wires = [ctx.tval(p, node).wire for p in parts]
        out = ctx.add(node, "merge.Concatenate", {"inputs": len(parts), "axis": perm[dim % rank]},
                      wires, shape=False)
        return Tensor(out.wire, perm)
    wires = [ctx.const_tensor(p, node, like, rank) if ctx.is_const(p) else ctx.tensor(p, node)
             for p in parts]
    axis = dim if dim < 0 else dim % rank
    return ctx.add(node, "merge.Concatenate", {"inputs": len(parts), "axis": axis}, wires)


def _stack(ctx, node):
    parts = list(ctx.arg(node, 0, "tensors"))
    dim = ctx.const(ctx.arg(node, 1, "dim", 0), node)
    rank = len(ctx.meta(node).shape)
    require(dim % rank != 0, "stacking along the batch axis (dim=0)")
    dim %= rank
    wires = []
    for p in parts:
        shape = list(ctx.meta(p).shape[1:])
        shape.insert(dim - 1, 1)
        src = ctx.tensor(p, node)
        wires.append(ctx.add(node, "core.Reshape", {"shape": shape}, [src], shape=False,
                             name=f"{node.name}_unsqueeze").wire)
    if len(wires) == 1:
        return Tensor(wires[0])
    return ctx.add(node, "merge.Concatenate", {"inputs": len(wires), "axis": dim}, wires)


def _expand(ctx, node):
    x = node.args[0]
    src = ctx.tensor(x, node)
    out, have = ctx.sample_shape(node), ctx.meta(x).shape[1:]
    require(out is not None and len(out) == len(have), "an expand that adds axes before the "
            "batch")
    if tuple(out) == tuple(have):
        return Tensor(src)
    return ctx.add(node, "core.Expand", {"shape": [o if o != h else -1
                                                   for o, h in zip(out, have)]}, [src])


def _repeat(ctx, node):
    x = node.args[0]
    rest = node.args[1:]
    reps = rest[0] if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else rest
    reps = [ctx.const(r, node, "the repeats") for r in reps]
    rank = len(ctx.meta(x).shape)
    require(len(reps) == rank and reps[0] == 1, "a repeat of the batch axis or one that adds "
            "axes")
    if all(r == 1 for r in reps):
        return ctx.tval(x, node)
    return ctx.add(node, "core.Repeat", {"repeats": reps[1:]}, [x])


METHODS = {
    "view": _reshape, "reshape": _reshape, "flatten": _reshape, "squeeze": _squeeze,
    "unsqueeze": _reshape, "view_as": _reshape, "reshape_as": _reshape, "unflatten": _reshape,
    "permute": _permute, "transpose": _transpose, "swapaxes": _transpose, "t": _t,
    "contiguous": _alias, "clone": _alias, "float": _same_dtype, "to": _same_dtype,
    "type_as": _same_dtype, "type": _same_dtype,
    "chunk": _chunk, "split": _split, "unbind": _unbind, "select": _select, "narrow": _narrow,
    "expand": _expand, "expand_as": _expand, "repeat": _repeat,
}


def functions() -> dict:
    import operator

    import torch

    return {
        operator.getitem: _getitem,
        torch.flatten: _reshape, torch.reshape: _reshape, torch.squeeze: _squeeze,
        torch.unsqueeze: _reshape, torch.permute: _permute, torch.transpose: _transpose,
        torch.swapaxes: _transpose, torch.t: _t,
        torch.chunk: _chunk, torch.split: _split, torch.unbind: _unbind,
        torch.select: _select, torch.narrow: _narrow,
        torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat, torch.stack: _stack,
        torch.tile: _repeat,
    }
