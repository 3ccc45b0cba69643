"""Math on tensors: a scalar operation (x·2, x + 1, 1 − x, x²), element-wise functions,
reductions over axes (mean, sum, max, ...) and the matrix product of two inputs."""
from __future__ import annotations

import math

from .base import Explanation, LayerSpec, Param, ParamError, ShapeError, TensorType, register

_OPS = ("+", "-", "*", "/", "**")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


@register
class ScalarOp(LayerSpec):
    id = "math.ScalarOp"
    name = "ScalarOp"
    category = "Math"
    doc = "Combines every element with a constant: x + c, x − c, x · c, x / c, x ** c."
    formula = "y = x ∘ c   (or c ∘ x when the constant is on the left)"
    params = (
        Param("op", "choice", "*", "The operation: + − · / or ** (power).", choices=_OPS),
        Param("value", "float", 2.0, "The constant c.", min=-1e12, max=1e12),
        Param("reverse", "bool", False, "Put the constant on the left: c − x, c / x, c ** x."),
    )

    def infer(self, p, ins):
        self.require_float(ins[0])
        return [ins[0]]

    def explain(self, p, ins, outs):
        c = _number(p["value"])
        expr = f"{c} {p['op']} x" if p["reverse"] else f"x {p['op']} {c}"
        return Explanation([f"y = {expr} for every element; output {outs[0]}"], ["params = 0"])

    def forward(self, p, attr, args, outs):
        c, x = _number(p["value"]), args[0]
        c = f"({c})" if c.startswith("-") and p["op"] == "**" and p["reverse"] else c
        expr = f"{c} {p['op']} {x}" if p["reverse"] else f"{x} {p['op']} {c}"
        return [f"{outs[0]} = {expr}"]


_FUNCTIONS = ("abs", "exp", "log", "sqrt", "rsqrt", "square", "reciprocal", "neg", "sin", "cos",
              "erf")


@register
class Unary(LayerSpec):
    id = "math.Unary"
    name = "Function"
    category = "Math"
    doc = "An element-wise function: abs, exp, log, sqrt, 1/sqrt, square, 1/x, −x, sin, cos, erf."
    formula = "y = f(x) for every element"
    params = (Param("fn", "choice", "sqrt", "The function applied to every element.",
                    choices=_FUNCTIONS),)

    def infer(self, p, ins):
        self.require_float(ins[0])
        return [ins[0]]

    def explain(self, p, ins, outs):
        return Explanation([f"y = {p['fn']}(x) for every element; output {outs[0]}"],
                           ["params = 0"])

    def forward(self, p, attr, args, outs):
        return [f"{outs[0]} = torch.{p['fn']}({args[0]})"]


_REDUCTIONS = ("mean", "sum", "amax", "amin", "std", "var")


def _axes(p, rank: int) -> list[int]:
    """The reduced sample axes, 0-based after the batch; ShapeError if out of range."""
    dims = p["dims"] if isinstance(p["dims"], list) else [p["dims"]]
    out = []
    for d in dims:
        if d == 0 or d > rank or d < -rank:
            raise ShapeError(f"axis {d} is out of range for rank-{rank} samples (the batch is "
                             "axis 0)", "in")
        out.append(d - 1 if d > 0 else rank + d)
    if len(set(out)) != len(out):
        raise ShapeError(f"axes {dims} name the same axis twice", "in")
    return out


@register
class Reduce(LayerSpec):
    id = "math.Reduce"
    name = "Reduce"
    category = "Math"
    doc = "Mean, sum, max, min, std or variance over chosen axes of each sample."
    formula = "y = reduce over the chosen axes of x (kept as size 1 with keepdim)"
    params = (
        Param("op", "choice", "mean", "mean, sum, amax (maximum), amin (minimum), std or var "
              "(both unbiased, as in torch).", choices=_REDUCTIONS),
        Param("dims", "ints", [-1], "Axes to reduce: 1 is the first after the batch, -1 the "
              "last.", min=-8, max=8),
        Param("keepdim", "bool", False, "Keep each reduced axis with size 1 (so the result "
              "broadcasts against the input)."),
    )

    def check_params(self, p):
        if any(d == 0 for d in (p["dims"] if isinstance(p["dims"], list) else [p["dims"]])):
            raise ParamError(f"dims cannot reduce the batch (axis 0). Received: dims="
                             f"{p['dims']}")

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        axes = _axes(p, x.rank)
        shape = [1 if i in axes else n for i, n in enumerate(x.shape)] if p["keepdim"] else \
            [n for i, n in enumerate(x.shape) if i not in axes]
        return [TensorType(tuple(shape))]

    def flops(self, p, ins, outs):
        return ins[0].numel

    def explain(self, p, ins, outs):
        axes = _axes(p, ins[0].rank)
        n = math.prod(ins[0].shape[a] for a in axes)
        return Explanation([f"{p['op']} over {n} values per output element (axes "
                            f"{', '.join(str(a + 1) for a in axes)}) → output {outs[0]}"],
                           ["params = 0"])

    def forward(self, p, attr, args, outs):
        dims = p["dims"] if isinstance(p["dims"], list) else [p["dims"]]
        dim = str(dims[0]) if len(dims) == 1 else f"({', '.join(map(str, dims))})"
        keep = ", keepdim=True" if p["keepdim"] else ""
        return [f"{outs[0]} = {args[0]}.{p['op']}(dim={dim}{keep})"]


@register
class MatMul(LayerSpec):
    id = "math.MatMul"
    name = "MatMul"
    category = "Math"
    doc = "Matrix product of two inputs per sample: (…, n, k) @ (…, k, m) → (…, n, m)."
    formula = "y[…, i, j] = Σ_k a[…, i, k] · b[…, k, j]"

    def input_ports(self, p):
        return ["a", "b"]

    def infer(self, p, ins):
        a, b = ins
        for t, port in ((a, "a"), (b, "b")):
            self.require_float(t, port)
            if t.rank < 2:
                raise ShapeError(f"expected a matrix per sample (N, …, n, k), received {t}",
                                 port)
        if a.rank != b.rank:
            raise ShapeError(f"a is {a} and b is {b}: give both the same number of axes", "b")
        if a.shape[-1] != b.shape[-2]:
            raise ShapeError(f"a {a} has {a.shape[-1]} columns but b {b} has {b.shape[-2]} "
                             "rows", "b")
        lead = []
        for i, (m, n) in enumerate(zip(a.shape[:-2], b.shape[:-2])):
            if m != n and 1 not in (m, n):
                raise ShapeError(f"axis {i + 1} does not match: a is {a}, b is {b}", "b")
            lead.append(max(m, n))
        return [TensorType((*lead, a.shape[-2], b.shape[-1]))]

    def flops(self, p, ins, outs):
        return outs[0].numel * ins[0].shape[-1]

    def explain(self, p, ins, outs):
        a, b = ins
        return Explanation([f"({a.shape[-2]}×{a.shape[-1]}) @ ({b.shape[-2]}×{b.shape[-1]}) "
                            f"= {a.shape[-2]}×{b.shape[-1]} per leading index; output "
                            f"{outs[0]}"], ["params = 0"])

    def forward(self, p, attr, args, outs):
        return [f"{outs[0]} = {args[0]} @ {args[1]}"]
