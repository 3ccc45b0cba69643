"""How ONNX operators map onto Studio layer specs (the ONNX front end's handlers).

Each handler takes the Importer and the NodeProto and returns the node's output values (Views
of Studio wires, or Consts). Layout-only operators (Transpose, Reshape, Flatten, Squeeze,
Unsqueeze, Identity) only regroup views; element-wise activations apply to the underlying
wire whatever its layout; everything else takes its input batch-first. Recurrent operators
are in onnx_recurrent.
"""
from __future__ import annotations

import math

import numpy as np

from .layout import B, View, linear_params
from .onnx_import import Const, Importer
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


def attrs(node) -> dict:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, list):
            v = [x.decode() if isinstance(x, bytes) else x for x in v]
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


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


# -- linear algebra -----------------------------------------------------------------------

def _linear(imp: Importer, node, x: View, weight: np.ndarray, bias, name_node=None) -> View:
    """A Linear layer on the last axis of x: weight (out, in)."""
    c = imp.views.last_axis(x, imp.origin(node))
    out_f = weight.shape[0]
    weights = {"weight": weight.astype(np.float32)}
    if bias is not None:
        weights["bias"] = np.broadcast_to(np.asarray(bias, np.float32), (out_f,)).copy()
    if c.base[-1] != weight.shape[1]:
        raise imp.error(node, f"the weight {weight.shape} does not fit an input whose last "
                        f"axis is {c.base[-1]}")
    wire = imp.add(name_node or node, "core.Linear",
                   linear_params(out_f, bias is not None, len(c.base)), [c.wire],
                   weights=weights)
    return imp.views.replace_last(c, wire, int(out_f))


def _fused_bias(imp: Importer, node, out_features: int):
    """The bias of an Add that is the only consumer of a MatMul's output, if it adds a
    constant vector (the Add is then handled here)."""
    users = imp.consumers.get(node.output[0], [])
    if len(users) != 1 or users[0].op_type != "Add" or node.output[0] in imp.graph_outputs:
        return None, None
    add = users[0]
    other = add.input[1] if add.input[0] == node.output[0] else add.input[0]
    c = imp.values.get(other)
    if isinstance(c, Const) and c.static and c.value.size == out_features and \
            c.value.ndim >= 1 and c.value.shape[-1] == out_features:
        return add, c.value.reshape(-1)
    return None, None


def _matmul(imp: Importer, node):
    a, b = imp.value(node, 0), imp.value(node, 1)
    if isinstance(a, View) and isinstance(b, Const):
        w = np.asarray(b.value)
        if w.ndim != 2:
            raise imp.error(node, f"a MatMul with a {w.ndim}-D constant has no Studio layer")
        add, bias = _fused_bias(imp, node, w.shape[1])
        out = _linear(imp, node, a, w.T, bias)
        if add is not None:
            imp.done.add(id(add))
            imp.values[add.output[0]] = out
        return [out]
    if isinstance(a, View) and isinstance(b, View):
        wa, wb = imp.materialize(node, a), imp.materialize(node, b)
        return [imp.wrap(imp.add(node, "math.MatMul", {}, [wa, wb]))]
    raise imp.error(node, "a MatMul with a constant first operand has no Studio layer")


def _gemm(imp: Importer, node):
    at = attrs(node)
    a = imp.view(node, 0)
    if at.get("transA", 0):
        a = a.transpose([1, 0])
    w = np.asarray(imp.const(node, 1, "weight B"), np.float32)
    w = (w if at.get("transB", 0) else w.T) * np.float32(at.get("alpha", 1.0))
    bias = imp.const(node, 2, "bias C", default=np.array(None, dtype=object))
    if bias.dtype != object:
        bias = np.asarray(bias, np.float32) * np.float32(at.get("beta", 1.0))
        if bias.size not in (1, w.shape[0]) or bias.ndim == 2 and bias.shape[0] != 1:
            raise imp.error(node, f"a bias C of shape {bias.shape} (one per sample) has no "
                            "Studio layer")
    else:
        bias = None
    return [_linear(imp, node, a, w, bias)]


# -- convolution, normalization, pooling ----------------------------------------------------

def spatial_pads(imp, node, x_shape, kernel, strides, dilations) -> tuple[list, list]:
    """(begin pads, end pads) per spatial axis from `pads`/`auto_pad`."""
    at = attrs(node)
    n = len(kernel)
    auto = at.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for size, k, s, d in zip(x_shape[1:], kernel, strides, dilations):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, big = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else big)
            end.append(big if auto == "SAME_UPPER" else small)
        return begin, end
    if auto == "VALID":
        return [0] * n, [0] * n
    pads = list(at.get("pads", [0] * 2 * n))
    return pads[:n], pads[n:]


def _pad_node(imp, node, wire, begin, end, mode="constant"):
    """An explicit Pad node before a layer whose padding is not symmetric."""
    return imp.add(node, "core.Pad", {"pads": [p for pair in zip(begin, end) for p in pair],
                                      "mode": mode, "value": 0.0}, [wire], suffix="_pad")


def _conv(imp: Importer, node):
    at = attrs(node)
    wire, shape = imp.dense(node)
    w = np.asarray(imp.const(node, 1, "weight W"), np.float32)
    bias = imp.const(node, 2, "bias B", default=np.array(None, dtype=object))
    dims = w.ndim - 2
    if dims not in (1, 2, 3) or len(shape) != dims + 1:
        raise imp.error(node, f"a {dims}-D convolution on {shape} has no Studio layer")
    kernel = list(at.get("kernel_shape", w.shape[2:]))
    strides = list(at.get("strides", [1] * dims))
    dil = list(at.get("dilations", [1] * dims))
    group = int(at.get("group", 1))
    begin, end = spatial_pads(imp, node, shape, kernel, strides, dil)
    if begin != end:
        wire = _pad_node(imp, node, wire, begin, end)
        begin = [0] * dims
    weights = {"weight": w}
    if bias.dtype != object:
        weights["bias"] = np.asarray(bias, np.float32)
    params = {"out_channels": int(w.shape[0]), "kernel_size": kernel, "stride": strides,
              "padding": begin, "dilation": dil, "groups": group,
              "bias": bias.dtype != object}
    return [imp.wrap(imp.add(node, f"conv.Conv{dims}d", params, [wire], weights=weights))]


def _conv_transpose(imp: Importer, node):
    at = attrs(node)
    wire, _ = imp.dense(node)
    w = np.asarray(imp.const(node, 1, "weight W"), np.float32)
    bias = imp.const(node, 2, "bias B", default=np.array(None, dtype=object))
    if w.ndim != 4:
        raise imp.error(node, "Studio has ConvTranspose2d only")
    if at.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID") or "output_shape" in at:
        raise imp.error(node, "auto_pad/output_shape on ConvTranspose: give explicit pads")
    pads = list(at.get("pads", [0] * 4))
    if pads[:2] != pads[2:]:
        raise imp.error(node, f"asymmetric pads {pads} on ConvTranspose have no Studio layer")
    group = int(at.get("group", 1))
    weights = {"weight": w}
    if bias.dtype != object:
        weights["bias"] = np.asarray(bias, np.float32)
    params = {"out_channels": int(w.shape[1] * group), "kernel_size": list(w.shape[2:]),
              "stride": list(at.get("strides", [1, 1])), "padding": pads[:2],
              "output_padding": list(at.get("output_padding", [0, 0])),
              "dilation": list(at.get("dilations", [1, 1])), "groups": group,
              "bias": bias.dtype != object}
    return [imp.wrap(imp.add(node, "conv.ConvTranspose2d", params, [wire], weights=weights))]


def _batchnorm(imp: Importer, node):
    at = attrs(node)
    if at.get("training_mode", 0) or any(imp.used(o) for o in node.output[1:]):
        raise imp.error(node, "batch normalization in training mode has no Studio layer")
    wire, shape = imp.dense(node)
    spec = {1: "norm.BatchNorm1d", 2: "norm.BatchNorm1d", 3: "norm.BatchNorm2d"}.get(len(shape))
    if spec is None:
        raise imp.error(node, f"batch normalization of {shape} samples has no Studio layer")
    names = ("weight", "bias", "running_mean", "running_var")
    weights = {n: np.asarray(imp.const(node, i + 1, n), np.float32) for i, n in enumerate(names)}
    params = {"eps": float(at.get("epsilon", 1e-5)),
              "momentum": round(1.0 - float(at.get("momentum", 0.9)), 6)}
    return [imp.wrap(imp.add(node, spec, params, [wire], weights=weights))]


def _layernorm(imp: Importer, node):
    at = attrs(node)
    v = imp.view(node)
    axis = at.get("axis", -1) % v.rank
    if any(imp.used(o) for o in node.output[1:]):
        raise imp.error(node, "the mean/inverse deviation outputs have no Studio equivalent")
    scale = np.asarray(imp.const(node, 1, "scale"), np.float32)
    bias = imp.const(node, 2, "bias", default=np.zeros_like(scale))
    weights = {"weight": scale, "bias": np.asarray(bias, np.float32)}
    params = {"normalized_dims": v.rank - axis, "eps": float(at.get("epsilon", 1e-5))}
    if axis == v.rank - 1:
        c = imp.views.last_axis(v, imp.origin(node))
        weights = {k: t.reshape(-1) for k, t in weights.items()}
        return [_on_wire_w(imp, node, c, "norm.LayerNorm", params, weights)]
    wire = imp.materialize(node, v)
    return [imp.wrap(imp.add(node, "norm.LayerNorm", params, [wire], weights=weights))]


def _on_wire_w(imp, node, v: View, spec, params, weights) -> View:
    wire = imp.add(node, spec, params, [v.wire], weights=weights)
    return View(wire, v.base, v.split, v.groups)


def _instancenorm(imp: Importer, node):
    wire, shape = imp.dense(node)
    weights = {"weight": np.asarray(imp.const(node, 1, "scale"), np.float32),
               "bias": np.asarray(imp.const(node, 2, "bias B"), np.float32)}
    params = {"num_groups": int(shape[0]), "eps": float(attrs(node).get("epsilon", 1e-5))}
    return [imp.wrap(imp.add(node, "norm.GroupNorm", params, [wire], weights=weights))]


def _pool(kind: str):
    def handler(imp: Importer, node):
        at = attrs(node)
        wire, shape = imp.dense(node)
        dims = len(shape) - 1
        if dims not in (1, 2):
            raise imp.error(node, f"{dims}-D pooling has no Studio layer")
        kernel = list(at["kernel_shape"])
        strides = list(at.get("strides", [1] * dims))
        if any(d != 1 for d in at.get("dilations", [1] * dims)):
            raise imp.error(node, "dilated pooling has no Studio layer")
        begin, end = spatial_pads(imp, node, shape, kernel, strides, [1] * dims)
        ceil = bool(at.get("ceil_mode", 0))
        if kind == "Avg" and any(begin + end) and not at.get("count_include_pad", 0):
            raise imp.error(node, "average pooling that leaves the padding out of the mean "
                            "(count_include_pad=0) has no Studio layer")
        if begin != end or any(2 * p > k for p, k in zip(begin, kernel)):
            wire = _pad_node(imp, node, wire, begin, end,
                             "replicate" if kind == "Max" else "constant")
            begin = [0] * dims
        params = {"kernel_size": kernel, "stride": strides, "padding": begin}
        if ceil:
            params["ceil_mode"] = True
        return [imp.wrap(imp.add(node, f"pool.{kind}Pool{dims}d", params, [wire]))]
    return handler


def _global_pool(spec: str):
    def handler(imp: Importer, node):
        wire, shape = imp.dense(node)
        out = imp.add(node, spec, {}, [wire])
        c = shape[0]
        split = (c,) + (1,) * (len(shape) - 1)
        groups = ((B,),) + tuple((i,) for i in range(len(split)))
        return [View(out, (c,), split, groups)]
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
    "MatMul": _matmul, "Gemm": _gemm,
    "Conv": _conv, "ConvTranspose": _conv_transpose,
    "BatchNormalization": _batchnorm, "LayerNormalization": _layernorm,
    "InstanceNormalization": _instancenorm,
    "MaxPool": _pool("Max"), "AveragePool": _pool("Avg"),
    "GlobalAveragePool": _global_pool("pool.GlobalAvgPool"),
    "GlobalMaxPool": _global_pool("pool.GlobalMaxPool"),
    "Shape": shape, "Size": size, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose, "Squeeze": squeeze,
    "Unsqueeze": unsqueeze, "Concat": concat, "Gather": gather, "Slice": slice_,
    "Split": split,
    "ReduceMean": reduce("mean"), "ReduceMax": reduce("amax"), "ReduceSum": reduce("sum"),
    "ReduceMin": reduce("amin"),
    "Pad": pad, "Resize": resize, "Upsample": resize, "Expand": expand,
    "TopK": topk, "ScatterElements": scatter_elements,
    "LSTM": lstm, "GRU": gru, "RNN": rnn,
}
