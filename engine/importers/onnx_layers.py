"""ONNX operators that become Studio layers with weights, and pooling: MatMul/Gemm as Linear
(with a following constant Add fused as its bias), Conv and ConvTranspose, the
normalisations, and (global) pooling, with ONNX's explicit pads turned into a Pad layer where
PyTorch's symmetric padding cannot express them (handlers of the ONNX front end, see
onnx_rules)."""
from __future__ import annotations

import math

import numpy as np

from .layout import B, View, linear_params
from .onnx_import import Const, Importer, attrs

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


def matmul(imp: Importer, node):
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


def gemm(imp: Importer, node):
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


def conv(imp: Importer, node):
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


def conv_transpose(imp: Importer, node):
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


def batchnorm(imp: Importer, node):
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


def layernorm(imp: Importer, node):
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


def instancenorm(imp: Importer, node):
    wire, shape = imp.dense(node)
    weights = {"weight": np.asarray(imp.const(node, 1, "scale"), np.float32),
               "bias": np.asarray(imp.const(node, 2, "bias B"), np.float32)}
    params = {"num_groups": int(shape[0]), "eps": float(attrs(node).get("epsilon", 1e-5))}
    return [imp.wrap(imp.add(node, "norm.GroupNorm", params, [wire], weights=weights))]


def pool(kind: str):
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


def global_pool(spec: str):
    def handler(imp: Importer, node):
        wire, shape = imp.dense(node)
        out = imp.add(node, spec, {}, [wire])
        c = shape[0]
        split = (c,) + (1,) * (len(shape) - 1)
        groups = ((B,),) + tuple((i,) for i in range(len(split)))
        return [View(out, (c,), split, groups)]
    return handler
