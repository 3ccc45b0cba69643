"""Tensor plumbing on each sample (the batch is never touched): Slice (indexing), Expand,
Repeat, and Parameter (a learned tensor such as a class token or position embeddings)."""
from __future__ import annotations

import math
import re

from .base import Explanation, LayerSpec, Param, ParamError, ShapeError, TensorType, register
from .emit import call

_ITEM = re.compile(r"^(-?\d+)?(?::(-?\d+)?)?(?::(\d+)?)?$")


def parse_index(text: str) -> list:
    """'1:3, -1' -> [slice(1, 3, None), -1]; items are ints, slices, None or Ellipsis.
    Raises ValueError for anything else (the text ends up in generated code)."""
    items: list = []
    for raw in text.split(","):
        part = raw.strip().replace(" ", "")
        if part == "...":
            items.append(Ellipsis)
        elif part == "None":
            items.append(None)
        elif ":" not in part and re.fullmatch(r"-?\d+", part):
            items.append(int(part))
        else:
            m = _ITEM.match(part)
            if not part or not m:
                raise ValueError(f"{raw.strip()!r} is not an index or a slice like 1:3")
            start, stop, step = (int(g) if g else None for g in m.groups())
            if step == 0:
                raise ValueError("a slice step cannot be 0")
            items.append(slice(start, stop, step))
    if items.count(Ellipsis) > 1:
        raise ValueError("at most one '...'")
    return items


def format_index(items: list) -> str:
    """The canonical text of parsed index items (what the generated code writes)."""
    def one(item) -> str:
        if item is Ellipsis:
            return "..."
        if item is None or isinstance(item, int):
            return str(item)
        text = f"{'' if item.start is None else item.start}:" \
               f"{'' if item.stop is None else item.stop}"
        return text + (f":{item.step}" if item.step not in (None, 1) else "")
    return ", ".join(one(i) for i in items)


def index_shape(items: list, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of `x[items]` for a tensor of `shape`; ShapeError if it does not apply."""
    n_axes = sum(1 for i in items if i is not None and i is not Ellipsis)
    if n_axes > len(shape):
        raise ShapeError(f"the index has {n_axes} axes but the sample has {len(shape)}", "in")
    fill = [slice(None)] * (len(shape) - n_axes)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + fill + items[at + 1:]
    else:
        items = items + fill
    out, axis = [], 0
    for item in items:
        if item is None:
            out.append(1)
            continue
        size = shape[axis]
        if isinstance(item, int):
            if not -size <= item < size:
                raise ShapeError(f"index {item} is out of range for axis {axis + 1} of size "
                                 f"{size}", "in")
        else:
            n = len(range(*item.indices(size)))
            if n == 0:
                raise ShapeError(f"the slice {format_index([item])} selects nothing of axis "
                                 f"{axis + 1} (size {size})", "in")
            out.append(n)
        axis += 1
    return tuple(out)


@register
class Slice(LayerSpec):
    id = "core.Slice"
    name = "Slice"
    category = "Core"
    doc = "Picks part of each sample with a Python index: '0', '1:3', ':, -1', '..., ::2'."
    formula = "y = x[:, index]   (the batch axis is kept whole)"
    params = (Param("index", "str", "0", "Index of each sample after the batch, as in Python: "
                    "'0' takes the first row (that axis disappears), '1:3' rows 1 and 2, "
                    "':, -1' the last entry of axis 2, '..., ::2' every second entry of the "
                    "last axis, 'None' inserts an axis of size 1."),)

    def check_params(self, p):
        try:
            items = parse_index(p["index"])
        except ValueError as exc:
            raise ParamError(f"index must be a Python index such as 0, 1:3 or ':, -1' "
                             f"({exc}). Received: index={p['index']!r}") from None
        p["index"] = format_index(items)

    def infer(self, p, ins):
        shape = index_shape(parse_index(p["index"]), ins[0].shape)
        return [TensorType(shape, ins[0].dtype)]

    def explain(self, p, ins, outs):
        return Explanation([f"x[:, {p['index']}] of {ins[0]} → {outs[0]}"], ["params = 0"])

    def forward(self, p, attr, args, outs):
        return [f"{outs[0]} = {args[0]}[:, {p['index']}]"]


def _sizes(value) -> list[int]:
    return value if isinstance(value, list) else [value]


@register
class Expand(LayerSpec):
    id = "core.Expand"
    name = "Expand"
    category = "Core"
    doc = "Repeats axes of size 1 to a larger size without copying (broadcasting)."
    formula = "y[:, i, j, …] = x[:, i if size > 1 else 0, …]"
    params = (Param("shape", "ints", [-1], "Size of each sample axis; -1 keeps the axis, an "
                    "axis of size 1 may grow to any size.", min=-1, max=1_000_000),)

    def check_params(self, p):
        if any(d == 0 for d in _sizes(p["shape"])):
            raise ParamError(f"shape sizes must be positive or -1. Received: shape={p['shape']}")

    def infer(self, p, ins):
        x, want = ins[0], _sizes(p["shape"])
        if len(want) != x.rank:
            raise ShapeError(f"shape {want} has {len(want)} axes, the input {x} has {x.rank}",
                             "in")
        out = []
        for have, size in zip(x.shape, want):
            if size != -1 and have not in (1, size):
                raise ShapeError(f"cannot expand {x} to {want}: only axes of size 1 grow", "in")
            out.append(have if size == -1 else size)
        return [TensorType(tuple(out), x.dtype)]

    def forward(self, p, attr, args, outs):
        sizes = ", ".join(map(str, _sizes(p["shape"])))
        return [f"{outs[0]} = {args[0]}.expand({args[0]}.shape[0], {sizes})"]


@register
class Repeat(LayerSpec):
    id = "core.Repeat"
    name = "Repeat"
    category = "Core"
    doc = "Tiles each sample: every axis is repeated a number of times."
    formula = "size_out[i] = size_in[i] · repeats[i]"
    params = (Param("repeats", "ints", [2], "How many copies along each sample axis (1 keeps "
                    "it).", min=1, max=100_000),)

    def infer(self, p, ins):
        x, reps = ins[0], _sizes(p["repeats"])
        if len(reps) != x.rank:
            raise ShapeError(f"repeats {reps} has {len(reps)} axes, the input {x} has "
                             f"{x.rank}", "in")
        return [TensorType(tuple(n * r for n, r in zip(x.shape, reps)), x.dtype)]

    def explain(self, p, ins, outs):
        parts = ", ".join(f"{n}·{r}" for n, r in zip(ins[0].shape, _sizes(p["repeats"])))
        return Explanation([f"output {outs[0]}: ({parts})"], ["params = 0"])

    def forward(self, p, attr, args, outs):
        reps = ", ".join(map(str, _sizes(p["repeats"])))
        return [f"{outs[0]} = {args[0]}.repeat(1, {reps})"]


_PARAMETER_SUPPORT = '''
class LearnedTensor(nn.Module):
    """A tensor learned as it is (a class token, position embeddings, a layer scale), the
    same for every sample: forward(x) repeats it for each sample of x's batch."""

    def __init__(self, *shape, init="normal", value=0.02, learnable=True):
        super().__init__()
        self.init, self.value = init, value
        t = torch.randn(shape) * value if init == "normal" else torch.full(shape, value)
        if learnable:
            self.weight = nn.Parameter(t)
        else:
            self.register_buffer("weight", t)

    def forward(self, x):
        return self.weight.expand(x.shape[0], *self.weight.shape)
'''


@register
class Parameter(LayerSpec):
    id = "core.Parameter"
    name = "Parameter"
    category = "Core"
    doc = "A learned tensor used as it is: a class token, position embeddings, a layer scale."
    formula = "y[n] = P for every sample n of the input's batch (P is learned)"
    support = _PARAMETER_SUPPORT
    params = (
        Param("shape", "shape", [1, 16], "Shape of the tensor (one sample, no batch); "
              "combine it with Add, Multiply or Concatenate (sizes of 1 broadcast)."),
        Param("init", "choice", "normal", "normal: random with standard deviation 'value'; "
              "constant: every entry equal to 'value'.", choices=("normal", "constant")),
        Param("value", "float", 0.02, "Standard deviation (normal) or the constant.",
              min=-1e6, max=1e6),
        Param("learnable", "bool", True, "Train it; off keeps it fixed (a buffer, as a "
              "precomputed table)."),
    )

    def infer(self, p, ins):
        return [TensorType(tuple(p["shape"]))]

    def param_count(self, p, ins):
        return math.prod(p["shape"]) if p["learnable"] else 0

    def explain(self, p, ins, outs):
        n = math.prod(p["shape"])
        dims = "·".join(map(str, p["shape"]))
        return Explanation([f"output {outs[0]}: the same tensor for each of the input's "
                            "samples (only the batch size of the input is used)"],
                           [f"params = {dims} = {n}" if p["learnable"] else
                            "params = 0 (fixed, not learned)"])

    def module(self, p, ins):
        return call("LearnedTensor", p["shape"], [
            ("init", p["init"], "normal"), ("value", p["value"], 0.02),
            ("learnable", p["learnable"], True)])
