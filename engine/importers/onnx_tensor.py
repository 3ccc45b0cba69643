"""ONNX tensor plumbing: shapes, reshapes, transposes, concatenation, indexing, reductions,
padding and resizing (handlers of the ONNX front end, see onnx_rules)."""
from __future__ import annotations

import math

import numpy as np

from .layout import B, Dim, View
from .onnx_import import Const, Importer


def _attrs(node) -> dict:
    from .onnx_import import attrs
    return attrs(node)


def _axes(imp: Importer, node, rank: int, input_index: int = 1, default=None):
    """Axes from the `axes` attribute (older opsets) or input, normalized to 0..rank-1."""
    at = _attrs(node)
    if "axes" in at:
        axes = at["axes"]
    elif len(node.input) > input_index and node.input[input_index]:
        axes = imp.const(node, input_index, "axes").reshape(-1).tolist()
    else:
        axes = default
    return None if axes is None else [int(a) % rank for a in axes]


def _prod(dims) -> Dim:
    return math.prod(k for k, _ in dims), sum(b for _, b in dims)


# -- shapes -----------------------------------------------------------------------------

def shape(imp: Importer, node):
    from .onnx_topk import shape_of_special

    special = shape_of_special(imp.value(node, 0), imp)
    if special is not None:
        return [special]
    v = imp.view(node)
    at = _attrs(node)
    start, end = at.get("start", 0), at.get("end", v.rank)
    values = [np.array(v.shape_at(n)[start:end], np.int64) for n in imp.batches]
    return [Const(values[0], None if np.array_equal(*values) else values[1])]


def size(imp: Importer, node):
    v = imp.view(node)
    values = [np.array(math.prod(v.shape_at(n)), np.int64) for n in imp.batches]
    return [Const(values[0], None if values[0] == values[1] else values[1])]


def target_dims(imp: Importer, node, v: View, c: Const, allowzero: bool = False) -> list[Dim]:
    """A shape constant as Dims: an entry that scales with the batch is the batch (k·N)."""
    t1, t2 = (np.asarray(a).reshape(-1).tolist() for a in c.values())
    n1, n2 = imp.batches
    have = v.dims()
    dims: list = []
    for i, (a, b) in enumerate(zip(t1, t2)):
        if a == 0 and not allowzero:
            if i >= len(have):
                raise imp.error(node, f"shape entry {i} copies an axis the input lacks")
            dims.append(have[i])
        elif a == -1:
            dims.append(None)
        elif a == b:
            dims.append((int(a), 0))
        elif a % n1 == 0 and b % n2 == 0 and a // n1 == b // n2:
            dims.append((a // n1, 1))
        else:
            raise imp.error(node, f"the target shape {t1} depends on the batch size in a way "
                            "Studio cannot express")
    if imp.static_batch and not any(d and d[1] for d in dims) and any(b for _, b in have):
        first = dims[0]
        if first is None or first[0] % imp.static_batch:
            raise imp.error(node, f"the fixed target shape {t1} does not start with the batch")
        dims[0] = (first[0] // imp.static_batch, 1)
    if dims.count(None) > 1:
        raise imp.error(node, f"the target shape {t1} has more than one -1")
    if None in dims:
        total, known = _prod(have), _prod([d for d in dims if d is not None])
        if total[0] % known[0] or total[1] < known[1]:
            raise imp.error(node, f"cannot reshape to {t1}")
        dims[dims.index(None)] = (total[0] // known[0], total[1] - known[1])
    if _prod(dims) != _prod(have):
        raise imp.error(node, f"cannot reshape {v.shape_at(n1)} to {t1} (at batch {n1})")
    return dims


def reshape(imp: Importer, node):
    v = imp.view(node)
    c = imp.const(node, 1, "shape", static=False)
    dims = target_dims(imp, node, v, c, bool(_attrs(node).get("allowzero", 0)))
    return [imp.reshape(node, v, dims)]


def flatten(imp: Importer, node):
    v = imp.view(node)
    axis = _attrs(node).get("axis", 1) % (v.rank + 1)
    dims = v.dims()
    return [imp.reshape(node, v, [_prod(dims[:axis]), _prod(dims[axis:])])]


def transpose(imp: Importer, node):
    v = imp.view(node)
    perm = _attrs(node).get("perm", list(range(v.rank))[::-1])
    return [v.transpose(perm)]


def squeeze(imp: Importer, node):
    v = imp.view(node)
    dims = v.dims()
    axes = _axes(imp, node, v.rank)
    if axes is None:
        axes = [i for i, d in enumerate(dims) if d == (1, 0)]
    if any(dims[a] != (1, 0) for a in axes):
        raise imp.error(node, f"it squeezes axes {axes} of {_shape_text(v)}, not all of size 1")
    return [imp.reshape(node, v, [d for i, d in enumerate(dims) if i not in axes])]


def unsqueeze(imp: Importer, node):
    v = imp.view(node)
    dims = list(v.dims())
    axes = sorted(_axes(imp, node, v.rank + len(_raw_axes(imp, node))))
    for a in axes:
        dims.insert(a, (1, 0))
    return [imp.reshape(node, v, dims)]


def _raw_axes(imp: Importer, node) -> list:
    at = _attrs(node)
    if "axes" in at:
        return list(at["axes"])
    return imp.const(node, 1, "axes").reshape(-1).tolist()


def _shape_text(v: View) -> str:
    return "×".join("N" if b else str(k) for k, b in v.dims())


# -- joining and picking ---------------------------------------------------------------------

def concat(imp: Importer, node):
    views = [imp.value(node, i) for i in range(len(node.input))]
    if len(views) == 1:  # DenseNet's torch.cat([x], 1)
        return [views[0]]
    like = next((v for v in views if isinstance(v, View)), None)
    views = [v if isinstance(v, View) else _batch_constant(imp, node, v, like) for v in views]
    axis = _attrs(node)["axis"] % views[0].rank
    origin = imp.origin(node)
    cs = [imp.views.canonical(v, origin) for v in views]
    group = cs[0].groups[axis]
    if len(group) == 1 and group[0] != B and all(c.groups == cs[0].groups for c in cs):
        a = group[0]
        if all(c.base[:a] + c.base[a + 1:] == cs[0].base[:a] + cs[0].base[a + 1:] for c in cs):
            wire = imp.add(node, "merge.Concatenate", {"inputs": len(cs), "axis": a + 1},
                           [c.wire for c in cs])
            base = imp.shape_of(wire)
            return [View(wire, base, base, cs[0].groups)]
    if views[0].batch_axis() == axis:
        raise imp.error(node, "concatenating along the batch axis has no Studio layer")
    wires = [imp.materialize(node, v) for v in views]
    return [imp.wrap(imp.add(node, "merge.Concatenate", {"inputs": len(wires), "axis": axis},
                             wires))]


def _batch_constant(imp: Importer, node, c: Const, like: View | None) -> View:
    """A constant holding one sample repeated along the batch (a class token expanded to the
    batch) as a Parameter node; any other constant cannot join a computed tensor."""
    a, b = c.values()
    b1, b2 = imp.batches
    if like is None or (c.static and not imp.static_batch) or a.ndim < 2 or \
            a.shape[0] != b1 or b.shape[0] != b2 or not (a == a[:1]).all():
        raise imp.error(node, "joining a constant with a tensor computed from the input has "
                        "no Studio layer")
    sample = np.asarray(a[0], np.float32)
    wire = imp.add(node, "core.Parameter", {"shape": list(sample.shape), "init": "constant",
                                            "value": 0.0, "learnable": c.weight},
                   [like.wire], weights={"weight": sample}, suffix="_const")
    return View.of(wire, sample.shape)


def gather(imp: Importer, node):
    data, idx = imp.value(node, 0), imp.value(node, 1)
    axis = _attrs(node).get("axis", 0)
    if isinstance(data, Const) and isinstance(idx, View):
        table = np.asarray(data.value)
        if table.ndim != 2 or axis != 0:
            raise imp.error(node, "only a Gather of rows of a 2-D table (an embedding) has a "
                            "Studio layer")
        wire = imp.add(node, "core.Embedding", {"num_embeddings": int(table.shape[0]),
                                                "embedding_dim": int(table.shape[1])},
                       [idx.wire], weights={"weight": table.astype(np.float32)},
                       trainable=True)
        d = int(table.shape[1])
        return [View(wire, (*idx.base, d), (*idx.split, d),
                     (*idx.groups, (len(idx.split),)))]
    if isinstance(data, View) and isinstance(idx, Const) and idx.static:
        index = np.asarray(idx.value)
        size = data.dims()[axis % data.rank]
        if index.ndim == 0:
            i = int(index)
            return [_pick(imp, node, data, {axis % data.rank: str(i)})]
        items = index.reshape(-1).tolist()
        step = items[1] - items[0] if len(items) > 1 else 1
        if index.ndim == 1 and step > 0 and items == list(range(items[0], items[-1] + 1, step)):
            start = items[0] % size[0]
            return [_pick(imp, node, data, {axis % data.rank:
                                            f"{start}:{start + step * (len(items) - 1) + 1}"
                                            f"{':' + str(step) if step != 1 else ''}"})]
        raise imp.error(node, "gathering scattered indices has no Studio layer")
    raise imp.error(node, "this Gather has no Studio layer (only an embedding table lookup "
                    "or constant indices)")


def _pick(imp: Importer, node, v: View, items: dict[int, str]) -> View:
    """A Slice node taking `items` (tensor axis -> index text) of the canonical wire."""
    dims = v.dims()
    ones = [a for a in items if dims[a] == (1, 0)]  # an axis of size 1 needs no node:
    drop = [a for a in ones if ":" not in items[a]]  # x[0] of it just removes it
    if ones:
        items = {a - sum(d < a for d in drop): t for a, t in items.items() if a not in ones}
        v = View(v.wire, v.base, v.split, tuple(g for i, g in enumerate(v.groups)
                                                if i not in drop))
        if not items:
            return v
    c = imp.views.canonical(v, imp.origin(node))
    index = [":"] * len(c.base)
    removed = []
    for axis, text in items.items():
        group = c.groups[axis]
        if B in group or len(group) != 1:
            raise imp.error(node, f"indexing axis {axis}, which is the batch or merges "
                            "several axes, has no Studio layer")
        index[group[0]] = text
        if ":" not in text:
            removed.append(group[0])
    while index and index[-1] == ":":
        index.pop()
    if not index:
        return v
    wire = imp.add(node, "core.Slice", {"index": ", ".join(index)}, [c.wire])
    base = imp.shape_of(wire)
    groups = []
    for i, g in enumerate(c.groups):
        if g and g[0] in removed:
            continue
        groups.append(tuple(a if a == B else a - sum(r < a for r in removed) for a in g))
    return View(wire, base, base, tuple(groups))


def split(imp: Importer, node):
    """Split (chunk, split, unbind): one Slice node per output the model uses."""
    v = imp.view(node)
    at = _attrs(node)
    axis = at.get("axis", 0) % v.rank
    k, b = v.dims()[axis]
    if b:
        raise imp.error(node, "splitting the batch axis has no Studio layer")
    if len(node.input) > 1 and node.input[1]:
        sizes = [int(x) for x in imp.const(node, 1, "split").reshape(-1)]
    elif "split" in at:  # opset < 13
        sizes = [int(x) for x in at["split"]]
    else:
        n = int(at.get("num_outputs", len(node.output)))
        step = -(-k // n)
        sizes = [min(step, k - i * step) for i in range(n)]
    if sum(sizes) != k or len(sizes) != len(node.output) or min(sizes) < 0:
        raise imp.error(node, f"the split sizes {sizes} do not divide an axis of size {k} "
                        f"into {len(node.output)} outputs")
    outs, start = [], 0
    for size, name in zip(sizes, node.output):
        outs.append(_pick(imp, node, v, {axis: f"{start}:{start + size}"})
                    if imp.used(name) else None)
        start += size
    return outs


def slice_(imp: Importer, node):
    v = imp.view(node)
    at = _attrs(node)
    if "starts" in at:  # opset < 10
        starts, ends = at["starts"], at["ends"]
        axes, steps = at.get("axes", list(range(len(starts)))), [1] * len(starts)
    else:
        starts = imp.const(node, 1, "starts").reshape(-1).tolist()
        ends = imp.const(node, 2, "ends").reshape(-1).tolist()
        axes = imp.const(node, 3, "axes", default=np.arange(len(starts))).reshape(-1).tolist()
        steps = imp.const(node, 4, "steps", default=np.ones(len(starts), int)).reshape(-1)
        steps = steps.tolist()
    items = {}
    dims = v.dims()
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = a % v.rank
        k, b = dims[a]
        if b:
            if st == 1 and s in (0, -(2**63)) and e >= 2**31:
                continue
            raise imp.error(node, "slicing the batch axis has no Studio layer")
        lo, hi, step = slice(int(s), int(e), int(st)).indices(k)
        if (lo, hi, step) == (0, k, 1):
            continue
        if step < 0:
            raise imp.error(node, "a reversed slice has no Studio layer")
        items[a] = f"{lo}:{hi}" + (f":{step}" if step != 1 else "")
    return [_pick(imp, node, v, items) if items else v]


# -- reductions, padding, resizing --------------------------------------------------------------

def reduce(op: str):
    def handler(imp: Importer, node):
        v = imp.view(node)
        at = _attrs(node)
        axes = _axes(imp, node, v.rank)
        keep = bool(at.get("keepdims", 1))
        if axes is None or not axes:
            if at.get("noop_with_empty_axes", 0):
                return [v]
            axes = list(range(v.rank))
        wire, shape = imp.dense(node)
        if 0 in axes:
            raise imp.error(node, "a reduction over the batch axis has no Studio layer")
        spatial = list(range(2, v.rank))
        if op in ("mean", "amax") and v.rank >= 3 and sorted(axes) == spatial:
            spec = "pool.GlobalAvgPool" if op == "mean" else "pool.GlobalMaxPool"
            out = imp.add(node, spec, {}, [wire])
            split = (shape[0],) + ((1,) * len(spatial) if keep else ())
            groups = ((B,),) + tuple((i,) for i in range(len(split)))
            return [View(out, (shape[0],), split, groups)]
        out = imp.add(node, "math.Reduce", {"op": op, "dims": sorted(axes), "keepdim": keep},
                      [wire])
        return [imp.wrap(out)]
    return handler


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate",
              "wrap": "circular"}


def pad(imp: Importer, node):
    v = imp.view(node)
    at = _attrs(node)
    mode = at.get("mode", "constant")
    if "pads" in at:
        pads, value = list(at["pads"]), float(at.get("value", 0.0))
    else:
        pads = imp.const(node, 1, "pads").reshape(-1).tolist()
        value = float(imp.const(node, 2, "constant value", default=np.array(0.0)).reshape(-1)[0]) \
            if len(node.input) > 2 and node.input[2] else 0.0
    axes = _axes(imp, node, v.rank, 3, default=list(range(v.rank)))
    n = len(axes)
    per_axis = {a: (pads[i], pads[i + n]) for i, a in enumerate(axes)}
    if mode not in _PAD_MODES:
        raise imp.error(node, f"pad mode {mode!r} has no Studio layer")
    if any(p < 0 for pair in per_axis.values() for p in pair):
        raise imp.error(node, "negative pads (cropping) have no Studio layer")
    batch = v.batch_axis()
    if per_axis.get(batch, (0, 0)) != (0, 0):
        raise imp.error(node, "padding the batch axis has no Studio layer")
    padded = sorted(a for a, pair in per_axis.items() if pair != (0, 0))
    if not padded:
        return [v]
    wire = imp.materialize(node, v)
    first = padded[0]
    flat = [p for a in range(first, v.rank) for p in per_axis.get(a, (0, 0))]
    out = imp.add(node, "core.Pad", {"pads": flat, "mode": _PAD_MODES[mode], "value": value},
                  [wire])
    return [imp.wrap(out)]


def resize(imp: Importer, node):
    v = imp.view(node)
    at = _attrs(node)
    wire, shape = imp.dense(node)
    if node.op_type == "Upsample":
        scales = (at.get("scales") or imp.const(node, 1, "scales").reshape(-1).tolist())
    else:
        scales = imp.const(node, 2, "scales", default=np.array([])).reshape(-1).tolist()
        if not scales:
            sizes = imp.const(node, 3, "sizes").reshape(-1).tolist()
            full = (1, *shape)
            scales = [o / i for o, i in zip(sizes, full)]
    if len(scales) != v.rank or scales[0] != 1 or scales[1] != 1 or len(set(scales[2:])) != 1:
        raise imp.error(node, f"scales {scales}: Studio's Upsample scales every spatial axis "
                        "by one factor (batch and channels unchanged)")
    mode = at.get("mode", "nearest")
    coord = at.get("coordinate_transformation_mode", "half_pixel")
    scale = float(scales[2])
    if mode == "nearest":
        nearest = at.get("nearest_mode", "round_prefer_floor")
        ok = (coord == "asymmetric" and nearest == "floor") or \
            (coord in ("half_pixel", "pytorch_half_pixel") and scale.is_integer())
        if node.op_type == "Upsample":
            ok = True
        if not ok or not scale.is_integer():
            raise imp.error(node, f"nearest resizing with {coord}/{nearest} by {scale} has no "
                            "Studio layer (torch's nearest: asymmetric coordinates, floor)")
        torch_mode = "nearest"
    elif mode == "linear":
        if node.op_type == "Resize" and coord not in ("half_pixel", "pytorch_half_pixel"):
            raise imp.error(node, f"linear resizing with coordinate mode {coord!r} has no Studio "
                            "layer (only half_pixel, torch's align_corners=False)")
        if node.op_type == "Upsample":
            raise imp.error(node, "opset-9 linear Upsample uses asymmetric coordinates, "
                            "which Studio's Upsample does not")
        torch_mode = {2: "linear", 3: "bilinear"}.get(len(shape))
        if torch_mode is None:
            raise imp.error(node, "linear resizing of volumes has no Studio layer")
    else:
        raise imp.error(node, f"resize mode {mode!r} has no Studio layer")
    out = imp.add(node, "pool.Upsample", {"scale_factor": scale, "mode": torch_mode}, [wire])
    return [imp.wrap(out)]


def expand(imp: Importer, node):
    v = imp.view(node)
    c = imp.const(node, 1, "shape", static=False)
    want = [np.asarray(a).reshape(-1).tolist() for a in c.values()]
    have = [v.shape_at(n) for n in imp.batches]
    rank = max(len(want[0]), v.rank)
    if rank == v.rank and all(
            np.broadcast_shapes(tuple(h), tuple(w)) == tuple(h) for h, w in zip(have, want)):
        return [v]
    if rank != v.rank:
        raise imp.error(node, "an Expand that adds axes has no Studio layer")
    wire = imp.materialize(node, v)
    target = np.broadcast_shapes(tuple(have[0]), tuple(want[0]))
    out = imp.add(node, "core.Expand", {"shape": [int(s) for s in target[1:]]}, [wire])
    return [imp.wrap(out)]
