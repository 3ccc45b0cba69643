"""Merge layers: combine several inputs (Add, Multiply, Subtract, Divide, Average, Maximum,
Concatenate). Element-wise merges broadcast axes of size 1 (a (C, 1, 1) gate times a
(C, H, W) feature map)."""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ShapeError, TensorType, register

_INPUTS = Param("inputs", "int", 2, "Number of input ports.", min=2, max=32)


class _Merge(LayerSpec):
    category = "Merge"
    params = (_INPUTS,)

    def input_ports(self, p):
        return [f"in{i + 1}" for i in range(p["inputs"])]


def broadcast(ins: list[TensorType], ports: list[str]) -> TensorType:
    """The shape of an element-wise op on `ins`: equal ranks, each axis equal or 1 (as torch
    broadcasting, with the batch axes lined up); ShapeError naming the port otherwise."""
    first = ins[0]
    shape = list(first.shape)
    for port, t in zip(ports[1:], ins[1:]):
        if t.rank != first.rank or any(a != b and 1 not in (a, b)
                                       for a, b in zip(t.shape, shape)):
            raise ShapeError(f"inputs must have the same shape, or size 1 where they differ: "
                             f"{ports[0]} is {first}, {port} is {t}", port)
        shape = [max(a, b) if 1 in (a, b) else a for a, b in zip(shape, t.shape)]
    return TensorType(tuple(shape), first.dtype)


class _Elementwise(_Merge):
    op = ""

    def infer(self, p, ins):
        first = ins[0]
        if all(t == first for t in ins):   # the common case, without naming the ports
            return [first]
        return [broadcast(ins, self.input_ports(p))]

    def explain(self, p, ins, outs):
        same = all(t.shape == outs[0].shape for t in ins)
        how = "of equal shape" if same else "(axes of size 1 broadcast)"
        return Explanation([f"output {outs[0]}: element-wise {self.name.lower()} of "
                            f"{len(ins)} inputs {how}"], ["params = 0"])

    def forward(self, p, attr, args, outs):
        if self.op == "mean":
            return [f"{outs[0]} = ({' + '.join(args)}) / {len(args)}"]
        if self.op == "max":
            expr = args[0]
            for a in args[1:]:
                expr = f"torch.maximum({expr}, {a})"
            return [f"{outs[0]} = {expr}"]
        return [f"{outs[0]} = {f' {self.op} '.join(args)}"]


class _Binary(_Elementwise):
    params = ()

    def input_ports(self, p):
        return ["in1", "in2"]


@register
class Add(_Elementwise):
    id = "merge.Add"
    name = "Add"
    op = "+"
    doc = "Element-wise sum (residual/skip connections)."
    formula = "y = x₁ + x₂ + …"


@register
class Multiply(_Elementwise):
    id = "merge.Multiply"
    name = "Multiply"
    op = "*"
    doc = "Element-wise product (gating: a (C, 1, 1) gate scales a (C, H, W) map)."
    formula = "y = x₁ ⊙ x₂ ⊙ …"


@register
class Subtract(_Binary):
    id = "merge.Subtract"
    name = "Subtract"
    op = "-"
    doc = "Element-wise difference in1 − in2."
    formula = "y = x₁ − x₂"


@register
class Divide(_Binary):
    id = "merge.Divide"
    name = "Divide"
    op = "/"
    doc = "Element-wise quotient in1 / in2."
    formula = "y = x₁ / x₂"


@register
class Average(_Elementwise):
    id = "merge.Average"
    name = "Average"
    op = "mean"
    doc = "Element-wise mean of the inputs."
    formula = "y = (x₁ + … + xₙ) / n"


@register
class Maximum(_Elementwise):
    id = "merge.Maximum"
    name = "Maximum"
    op = "max"
    doc = "Element-wise maximum of the inputs."
    formula = "y = max(x₁, …, xₙ)"


@register
class Concatenate(_Merge):
    id = "merge.Concatenate"
    name = "Concatenate"
    doc = "Joins inputs along one axis (1 = channels/features, the axis after the batch)."
    formula = "y = [x₁ ‖ x₂ ‖ …] along axis"
    params = (_INPUTS, Param("axis", "int", 1, "Axis to join along; 1 is the first after the "
                             "batch, -1 the last.", min=-8, max=8))

    def _axis(self, p, rank: int) -> int:
        a = p["axis"]
        if a == 0 or a > rank or a < -rank:
            raise ShapeError(f"axis={a} is out of range for rank-{rank} samples (the batch is "
                             "axis 0)", "in1")
        return a - 1 if a > 0 else rank + a

    def infer(self, p, ins):
        first = ins[0]
        ax = self._axis(p, first.rank)
        total = 0
        for port, t in zip(self.input_ports(p), ins):
            if t.rank != first.rank or any(a != b for i, (a, b) in
                                           enumerate(zip(t.shape, first.shape)) if i != ax):
                raise ShapeError(f"inputs must match except on axis {p['axis']}: in1 is "
                                 f"{first}, {port} is {t}", port)
            total += t.shape[ax]
        shape = list(first.shape)
        shape[ax] = total
        return [TensorType(tuple(shape), first.dtype)]

    def explain(self, p, ins, outs):
        ax = self._axis(p, ins[0].rank)
        parts = " + ".join(str(t.shape[ax]) for t in ins)
        return Explanation([f"axis {p['axis']}: {parts} = {outs[0].shape[ax]}",
                            f"output {outs[0]}"], ["params = 0"])

    def forward(self, p, attr, args, outs):
        return [f"{outs[0]} = torch.cat([{', '.join(args)}], dim={p['axis']})"]
