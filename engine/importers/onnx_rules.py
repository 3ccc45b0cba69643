"""How ONNX operators map onto Studio layer specs (the ONNX front end's handlers).

Each handler takes the Importer and the NodeProto and returns the node's output values (Views
of Studio wires, or Consts). Layout-only operators (Transpose, Reshape, Flatten, Squeeze,
Unsqueeze, Identity) only regroup views; element-wise activations apply to the underlying
wire whatever its layout; everything else takes its input batch-first. Recurrent operators
are in onnx_recurrent, layers with weights and pooling in onnx_layers.
"""
from __future__ import annotations

import math

import numpy as np

from .layout import B, View
from .onnx_import import Const, Importer, attrs
from .onnx_layers import (
    batchnorm,
    conv,
    conv_transpose,
    gemm,
    global_pool,
    instancenorm,
    layernorm,
    matmul,
    pool,
)
from .onnx_recurrent import gru, lstm, rnn
from .onnx_tensor import (
    concat,
    expand,
    flatten,
    gather,
    pad,
    reduce,
    reshape,
    resize,
    shape,
    size,
    slice_,
    split,
    squeeze,
    transpose,
    unsqueeze,
)
from .onnx_topk import masked, scatter_elements, topk

# -- element-wise -------------------------------------------------------------------------

def _unary(spec: str, **fixed):
    def handler(imp: Importer, node):
        v = imp.view(node)
        return [_on_wire(imp, node, v, spec, fixed)]
    return handler


def _on_wire(imp, node, v: View, spec: str, params: dict, suffix: str = "") -> View:
    """An element-wise layer applied to the wire under `v` (the layout is unchanged)."""
    wire = imp.add(node, spec, params, [v.wire], suffix=suffix)
    return View(wire, v.base, v.split, v.groups)


def _leaky(imp, node):
    return [_on_wire(imp, node, imp.view(node), "act.LeakyReLU",
                     {"negative_slope": float(attrs(node).get("alpha", 0.01))})]


def _elu(imp, node):
    return [_on_wire(imp, node, imp.view(node), "act.ELU",
                     {"alpha": float(attrs(node).get("alpha", 1.0))})]


def _selu(imp, node):
    a = attrs(node)
    if not (math.isclose(a.get("alpha", 1.67326), 1.6732632423543772, rel_tol=1e-5)
            and math.isclose(a.get("gamma", 1.0507), 1.0507009873554805, rel_tol=1e-5)):
        raise imp.error(node, "Studio's SELU has the standard alpha and gamma only")
    return [_on_wire(imp, node, imp.view(node), "act.SELU", {})]


def _gelu(imp, node):
    if attrs(node).get("approximate", "none") != "none":
        raise imp.error(node, "Studio's GELU is the exact (erf) form, not approximate='tanh'")
    return [_on_wire(imp, node, imp.view(node), "act.GELU", {})]


def _hard_sigmoid(imp, node):
    a = attrs(node)
    if not (math.isclose(a.get("alpha", 0.2), 1 / 6, rel_tol=1e-4)
            and math.isclose(a.get("beta", 0.5), 0.5)):
        raise imp.error(node, f"Studio's Hardsigmoid is relu6(x + 3)/6 (alpha=1/6, beta=0.5); "
                        f"received alpha={a.get('alpha', 0.2)}, beta={a.get('beta', 0.5)}")
    return [_on_wire(imp, node, imp.view(node), "act.Hardsigmoid", {})]


def _clip(imp, node):
    v = imp.view(node)
    if imp.opset < 11 or "min" in attrs(node):
        lo, hi = attrs(node).get("min"), attrs(node).get("max")
    else:
        lo = imp.const(node, 1, "minimum", default=np.array(None))
        hi = imp.const(node, 2, "maximum", default=np.array(None))
        lo, hi = lo.item(), hi.item()
    if lo == 0 and hi == 6:
        return [_on_wire(imp, node, v, "act.ReLU6", {})]
    if lo == 0 and (hi is None or hi >= 3.4e38):
        return [_on_wire(imp, node, v, "act.ReLU", {})]
    raise imp.error(node, f"Studio has no layer for Clip({lo}, {hi}); only Clip(0, 6) "
                    "(ReLU6) and Clip(0) (ReLU)")


def _softmax(spec: str):
    def handler(imp: Importer, node):
        v = imp.view(node)
        axis = attrs(node).get("axis", -1 if imp.opset >= 13 else 1)
        axis = axis % v.rank
        if imp.opset < 13 and axis != v.rank - 1:
            raise imp.error(node, f"opset {imp.opset} {node.op_type} over axes {axis}.. "
                            "(flattened) has no Studio layer; only the last axis")
        if axis == v.rank - 1:
            c = imp.views.last_axis(v, imp.origin(node))
            return [_on_wire(imp, node, c, spec, {"dim": -1})]
        wire = imp.materialize(node, v)
        if axis == 0:
            raise imp.error(node, "a softmax over the batch axis has no Studio layer")
        return [imp.wrap(imp.add(node, spec, {"dim": axis}, [wire]))]
    return handler


def _unary_math(fn: str):
    return _unary("math.Unary", fn=fn)


def _dropout(imp, node):
    v = imp.view(node)
    ratio = attrs(node).get("ratio", 0.5)
    if imp.opset >= 12 and len(node.input) > 1 and node.input[1]:
        ratio = float(imp.const(node, 1, "ratio"))
    if len(node.output) > 1 and imp.used(node.output[1]):
        raise imp.error(node, "the dropout mask output has no Studio equivalent")
    if ratio == 0:
        return [v]
    return [_on_wire(imp, node, v, "core.Dropout", {"p": float(ratio)})]


def _identity(imp, node):
    return [imp.value(node, 0)]


def _cast(imp, node):
    v = imp.view(node)
    from onnx import TensorProto
    to = attrs(node).get("to")
    floats = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16)
    dtype = imp.builder.type_of(v.wire).dtype
    if (to in floats) == (dtype == "float"):
        return [v]
    raise imp.error(node, f"casting a {dtype} tensor to "
                    f"{TensorProto.DataType.Name(to)} has no Studio layer")


# -- binary -------------------------------------------------------------------------------

_MERGE = {"Add": "merge.Add", "Sub": "merge.Subtract", "Mul": "merge.Multiply",
          "Div": "merge.Divide"}
_SCALAR = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "**"}


def _binary(imp: Importer, node):
    if node.op_type == "Mul" and (out := masked(imp, node)) is not None:
        return out
    a, b = imp.value(node, 0), imp.value(node, 1)
    op = node.op_type
    if isinstance(a, View) and isinstance(b, View):
        return [_two_views(imp, node, a, b, _MERGE[op])]
    if isinstance(b, View) and isinstance(a, Const):
        a, b, reverse = b, a, True
    elif isinstance(a, View) and isinstance(b, Const):
        reverse = False
    else:
        raise imp.error(node, "its inputs are not tensors Studio can represent")
    if not b.static:
        raise imp.error(node, "a constant that depends on the batch size has no Studio layer")
    c = b.value
    if c.size == 1:
        value = float(c.reshape(-1)[0])
        if op in ("Add", "Sub") and value == 0 and not reverse or \
                op in ("Mul", "Div", "Pow") and value == 1 and not reverse:
            return [a]
        if op == "Div" and not reverse:
            op, value = "Mul", 1.0 / value
        if op == "Sub" and not reverse:
            op, value = "Add", -value
        return [_on_wire(imp, node, a, "math.ScalarOp",
                         {"op": _SCALAR[op], "value": value, "reverse": reverse})]
    if op == "Pow":
        raise imp.error(node, "a power with a tensor exponent has no Studio layer")
    return [_with_tensor(imp, node, a, b, _MERGE[op], reverse)]


def _two_views(imp, node, a: View, b: View, spec: str) -> View:
    origin = imp.origin(node)
    ca, cb = imp.views.canonical(a, origin), imp.views.canonical(b, origin)
    if ca.groups == cb.groups and ca.base == cb.base:
        wire = imp.add(node, spec, {} if spec in ("merge.Subtract", "merge.Divide")
                       else {"inputs": 2}, [ca.wire, cb.wire])
        return View(wire, ca.base, ca.split, ca.groups)
    if a.rank != b.rank:
        raise imp.error(node, f"broadcasting tensors of rank {a.rank} and {b.rank} has no "
                        "Studio layer")
    wa, wb = imp.materialize(node, a), imp.materialize(node, b)
    wire = imp.add(node, spec, {} if spec in ("merge.Subtract", "merge.Divide")
                   else {"inputs": 2}, [wa, wb])
    return imp.wrap(wire)


def _with_tensor(imp, node, x: View, c: Const, spec: str, reverse: bool) -> View:
    """x (op) c for a constant tensor c: c becomes a Parameter node (learnable when it is a
    model weight) shaped for x's layout, combined with a broadcasting merge."""
    value = c.value
    if value.ndim > x.rank:
        raise imp.error(node, f"the constant {value.shape} has more axes than the tensor")
    full = (1,) * (x.rank - value.ndim) + value.shape
    cx = imp.views.canonical(x, imp.origin(node))
    sample = []
    for n, group in zip(full, cx.groups):
        atoms = [a for a in group if a != B]
        if n != 1 and B in group:
            raise imp.error(node, f"the constant {value.shape} varies along the batch axis")
        if n != 1 and len(atoms) != 1:
            raise imp.error(node, f"the constant {value.shape} varies along an axis that "
                            "Studio keeps merged with others")
        sample += [n] if n != 1 else [1] * len(atoms)
    if not sample:
        raise imp.error(node, "a constant on a one-value-per-sample tensor has no layer")
    param = np.asarray(value, np.float32).reshape(sample)
    pw = imp.add(node, "core.Parameter", {"shape": list(sample), "init": "constant",
                                          "value": 0.0, "learnable": c.weight},
                 [cx.wire], weights={"weight": param}, suffix="_const")
    ins = [pw, cx.wire] if reverse else [cx.wire, pw]
    wire = imp.add(node, spec, {} if spec in ("merge.Subtract", "merge.Divide")
                   else {"inputs": 2}, ins)
    return View(wire, cx.base, cx.split, cx.groups)


def _variadic(spec: str):
    def handler(imp: Importer, node):
        views = [imp.view(node, i) for i in range(len(node.input))]
        if len(views) == 1:
            return [views[0]]
        wires = [imp.materialize(node, v) for v in views]
        return [imp.wrap(imp.add(node, spec, {"inputs": len(wires)}, wires))]
    return handler


HANDLERS = {
    "Relu": _unary("act.ReLU"), "Sigmoid": _unary("act.Sigmoid"), "Tanh": _unary("act.Tanh"),
    "LeakyRelu": _leaky, "Elu": _elu, "Selu": _selu, "Gelu": _gelu,
    "HardSigmoid": _hard_sigmoid, "HardSwish": _unary("act.Hardswish"),
    "Softplus": _unary("act.Softplus"), "Softsign": _unary("act.Softsign"),
    "Mish": _unary("act.Mish"), "Clip": _clip,
    "Softmax": _softmax("act.Softmax"), "LogSoftmax": _softmax("act.LogSoftmax"),
    "Exp": _unary_math("exp"), "Log": _unary_math("log"), "Sqrt": _unary_math("sqrt"),
    "Abs": _unary_math("abs"), "Neg": _unary_math("neg"), "Erf": _unary_math("erf"),
    "Sin": _unary_math("sin"), "Cos": _unary_math("cos"),
    "Reciprocal": _unary_math("reciprocal"),
    "Dropout": _dropout, "Identity": _identity, "Cast": _cast,
    "Add": _binary, "Sub": _binary, "Mul": _binary, "Div": _binary, "Pow": _binary,
    "Sum": _variadic("merge.Add"), "Max": _variadic("merge.Maximum"),
    "Mean": _variadic("merge.Average"),
    "MatMul": matmul, "Gemm": gemm,
    "Conv": conv, "ConvTranspose": conv_transpose,
    "BatchNormalization": batchnorm, "LayerNormalization": layernorm,
    "InstanceNormalization": instancenorm,
    "MaxPool": pool("Max"), "AveragePool": pool("Avg"),
    "GlobalAveragePool": global_pool("pool.GlobalAvgPool"),
    "GlobalMaxPool": global_pool("pool.GlobalMaxPool"),
    "Shape": shape, "Size": size, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose, "Squeeze": squeeze,
    "Unsqueeze": unsqueeze, "Concat": concat, "Gather": gather, "Slice": slice_,
    "Split": split,
    "ReduceMean": reduce("mean"), "ReduceMax": reduce("amax"), "ReduceSum": reduce("sum"),
    "ReduceMin": reduce("amin"),
    "Pad": pad, "Resize": resize, "Upsample": resize, "Expand": expand,
    "TopK": topk, "ScatterElements": scatter_elements,
    "LSTM": lstm, "GRU": gru, "RNN": rnn,
}
