"""Functions and tensor methods the torch.fx front end maps onto Studio layers: arithmetic
(broadcasting merges, a scalar form), activations, pooling, reductions, attention, and the
functional forms of layers applied to a module's own weights (`F.linear`, `F.conv2d`,
`F.batch_norm`, `F.layer_norm`, ... as in subclasses that override forward). Shape ops are in
fx_shapes. Each handler takes (importer, fx node) and returns the node's value.
"""
from __future__ import annotations

import operator

from . import fx_shapes
from .fx_modules import (Unsupported, batchnorm_params, ints, pad_params, pool_params, require,
                         upsample_params)
from .fx_values import Items

_MERGES = {"+": "merge.Add", "*": "merge.Multiply", "-": "merge.Subtract", "/": "merge.Divide"}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def elementwise(ctx, node, op: str, a, b):
    """a <op> b with broadcasting; a constant operand becomes a ScalarOp or a Parameter."""
    import torch

    const_a, const_b = ctx.is_const(a), ctx.is_const(b)
    if not const_a and not const_b:
        ra, rb = len(ctx.meta(a).shape), len(ctx.meta(b).shape)
        require(ra == rb, f"broadcasts a {ra}-axis tensor against a {rb}-axis one; Studio "
                "lines up the batch axes, so give both the same number of axes")
        return ctx.add(node, _MERGES[op], _merge_params(op), [a, b])
    tensor, const = (b, a) if const_a else (a, b)
    value = ctx.const(const, node, "the constant operand")
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not ctx.rec[const].param:
        value = value.item()
    if _is_number(value):
        reverse = const_a and op not in ("+", "*")
        return ctx.add(node, "math.ScalarOp", {"op": op, "value": float(value),
                                               "reverse": reverse}, [tensor])
    require(isinstance(value, torch.Tensor), f"combines a tensor with {type(value).__name__}")
    t = ctx.tval(tensor, node)
    rank = len(ctx.meta(tensor).shape)
    wire = ctx.const_tensor(const, node, t, rank)
    require(op in _MERGES, "Studio raises tensors to a constant power only")
    inputs = [wire, tensor] if const_a else [tensor, wire]
    return ctx.add(node, _MERGES[op], _merge_params(op), inputs)


def _merge_params(op: str) -> dict:
    return {"inputs": 2} if op in ("+", "*") else {}


def _binary(op: str, reverse: bool = False):
    def handler(ctx, node):
        a, b = node.args[0], ctx.arg(node, 1, "other")
        alpha = node.kwargs.get("alpha", node.args[2] if len(node.args) > 2 else 1)
        require(ctx.const(alpha, node) == 1, "Studio's Add/Subtract has no alpha")
        require(node.kwargs.get("rounding_mode") is None, "integer division (rounding_mode) "
                "has no Studio layer")
        return elementwise(ctx, node, op, b, a) if reverse else elementwise(ctx, node, op, a, b)
    return handler


def _pow(ctx, node):
    a, b = node.args[0], ctx.arg(node, 1, "exponent")
    require(not ctx.is_const(a) and ctx.is_const(b), "Studio raises tensors to a constant "
            "power only")
    return elementwise(ctx, node, "**", a, b)


def _maximum(ctx, node):
    a, b = node.args[0], ctx.arg(node, 1, "other")
    require(not ctx.is_const(a) and not ctx.is_const(b), "Studio's Maximum takes two tensors")
    return ctx.add(node, "merge.Maximum", {"inputs": 2}, [a, b])


def _matmul(ctx, node):
    a, b = node.args[0], ctx.arg(node, 1, "other", ctx.arg(node, 1, "mat2"))
    require(not ctx.is_const(a) and not ctx.is_const(b), "Studio's MatMul multiplies two "
            "tensors of the model (a weight matrix belongs in a Linear)")
    return ctx.add(node, "math.MatMul", {}, [a, b])


def _unary(fn: str):
    def handler(ctx, node):
        return ctx.add(node, "math.Unary", {"fn": fn}, [node.args[0]])
    return handler


def _act(spec: str, **kw: tuple[int, str, object]):
    """An activation function; kw maps a Studio param to (position, keyword, default)."""
    def handler(ctx, node):
        params = {k: ctx.const(ctx.arg(node, i, name, d), node, name)
                  for k, (i, name, d) in kw.items()}
        if spec in ("act.Softmax", "act.LogSoftmax") and params["dim"] is None:
            params["dim"] = ctx.implicit_softmax_dim(node, node.args[0])
        for k in ("negative_slope", "alpha", "beta"):
            if k in params:
                params[k] = float(params[k])
        return ctx.add(node, spec, params, [node.args[0]])
    return handler


def _gelu(ctx, node):
    require(node.kwargs.get("approximate", "none") == "none",
            "Studio's GELU is exact (approximate='tanh')")
    return ctx.add(node, "act.GELU", {}, [node.args[0]])


def _softplus(ctx, node):
    require(ctx.const(ctx.arg(node, 2, "threshold", 20), node) == 20,
            "Studio's Softplus uses threshold 20")
    beta = ctx.const(ctx.arg(node, 1, "beta", 1.0), node)
    return ctx.add(node, "act.Softplus", {"beta": float(beta)}, [node.args[0]])


def _hardtanh(ctx, node):
    lo = ctx.const(ctx.arg(node, 1, "min_val", -1.0), node)
    hi = ctx.const(ctx.arg(node, 2, "max_val", 1.0), node)
    require((lo, hi) == (0, 6), "Studio has Hardtanh only as ReLU6 (0, 6)")
    return ctx.add(node, "act.ReLU6", {}, [node.args[0]])


def _dropout(ctx, node):
    p = ctx.const(ctx.arg(node, 1, "p", 0.5), node)
    return ctx.add(node, "core.Dropout", {"p": float(p)}, [node.args[0]])


def _pad(ctx, node):
    x = node.args[0]
    c = [ctx.const(ctx.arg(node, i, k, d), node, k) for i, (k, d) in enumerate(
        (("pad", None), ("mode", "constant"), ("value", None)), start=1)]
    require(len(c[0]) // 2 < len(ctx.meta(x).shape), "pads the batch axis")
    return ctx.add(node, "core.Pad", pad_params(c[0], c[1], c[2]), [x])


def _max_pool(spec: str):
    def handler(ctx, node):
        c = [ctx.const(ctx.arg(node, i, k, d), node, k) for i, (k, d) in enumerate(
            (("kernel_size", None), ("stride", None), ("padding", 0), ("dilation", 1),
             ("ceil_mode", False), ("return_indices", False)), start=1)]
        return ctx.add(node, spec, pool_params("max", c[0], c[1], c[2], c[4], c[3],
                                               return_indices=c[5]), [node.args[0]])
    return handler


def _avg_pool(spec: str):
    def handler(ctx, node):
        c = [ctx.const(ctx.arg(node, i, k, d), node, k) for i, (k, d) in enumerate(
            (("kernel_size", None), ("stride", None), ("padding", 0), ("ceil_mode", False),
             ("count_include_pad", True), ("divisor_override", None)), start=1)]
        return ctx.add(node, spec, pool_params("avg", c[0], c[1], c[2], c[3], 1, c[4], c[5]),
                       [node.args[0]])
    return handler


def _adaptive(spec: str):
    def handler(ctx, node):
        from .fx_modules import adaptive_size

        size = ctx.const(ctx.arg(node, 1, "output_size"), node, "output_size")
        require(not ctx.const(ctx.arg(node, 2, "return_indices", False), node),
                "Studio's pooling does not return indices")
        return ctx.add(node, spec, {"output_size": adaptive_size(size)}, [node.args[0]])
    return handler


def _interpolate(ctx, node):
    x = node.args[0]
    c = [ctx.const(ctx.arg(node, i, k, d), node, k) for i, (k, d) in enumerate(
        (("size", None), ("scale_factor", None), ("mode", "nearest"), ("align_corners", None)),
        start=1)]
    size, scale = c[0], c[1]
    if size is not None and scale is None:  # a fixed size that is a whole multiple
        have = ctx.meta(x).shape[2:]
        want = ints(size) if isinstance(size, (list, tuple)) else [int(size)] * len(have)
        ratios = {w / h for w, h in zip(want, have)}
        require(len(ratios) == 1 and float(next(iter(ratios))).is_integer(),
                "Studio's Upsample scales by a factor; this size is not a whole multiple")
        size, scale = None, next(iter(ratios))
    return ctx.add(node, "pool.Upsample", upsample_params(size, scale, c[2], c[3]), [x])


def _reduce(op: str):
    def handler(ctx, node):
        x = node.args[0]
        dims = ctx.const(ctx.arg(node, 1, "dim"), node, "dim")
        keep = ctx.const(ctx.arg(node, 2, "keepdim", False), node, "keepdim")
        if op in ("std", "var"):
            require(ctx.const(node.kwargs.get("correction", 1), node) == 1 and
                    node.kwargs.get("unbiased", True) is True, "Studio's std/var are unbiased")
        require(dims is not None and dims != (), f"{op} over every axis mixes the batch; "
                "give dim=")
        rank = len(ctx.meta(x).shape)
        dims = [dims] if isinstance(dims, int) else list(dims)
        require(all(d % rank != 0 for d in dims), f"{op} over the batch axis")
        spatial = sorted(d % rank for d in dims) == list(range(2, rank))
        if spatial and rank >= 3 and not keep and op in ("mean", "amax"):
            spec = "pool.GlobalAvgPool" if op == "mean" else "pool.GlobalMaxPool"
            return ctx.add(node, spec, {}, [x])
        return ctx.add(node, "math.Reduce", {"op": op, "dims": ints(dims),
                                             "keepdim": bool(keep)}, [x])
    return handler


def _max_or_min(op: str):
    """torch.max(x, dim) -> (values, indices); torch.max(a, b) -> element-wise."""
    def handler(ctx, node):
        other = ctx.arg(node, 1, "dim", ctx.arg(node, 1, "other"))
        if other is not None and not ctx.is_const(other):
            require(op == "amax", "Studio has no element-wise minimum")
            return _maximum(ctx, node)
        require(other is not None, f"{op[1:]} over every axis mixes the batch; give dim=")
        values = _reduce(op)
        return Items([lambda: values(ctx, node), lambda: _no_indices(op)])
    return handler


def _no_indices(op: str):
    raise Unsupported(f"Studio's Reduce gives the {op[1:]} values, not their indices")


# functional layers on a module's own weights (subclasses that override forward) --------------

def _weight(ctx, node, x, what: str):
    if x is None:
        return None
    require(ctx.is_const(x), f"the {what} is computed from the input; Studio layers own "
            "their weights")
    return ctx.const(x, node, what)


def _linear(ctx, node):
    w = _weight(ctx, node, ctx.arg(node, 1, "weight"), "weight")
    b = _weight(ctx, node, ctx.arg(node, 2, "bias"), "bias")
    weights = {"weight": w} | ({"bias": b} if b is not None else {})
    every = len(ctx.meta(node.args[0]).shape) > 3
    return ctx.add(node, "core.Linear", {"out_features": w.shape[0], "bias": b is not None,
                                         "every_position": every},
                   [node.args[0]], weights=weights)


def _conv(spec: str):
    def handler(ctx, node):
        w = _weight(ctx, node, ctx.arg(node, 1, "weight"), "weight")
        b = _weight(ctx, node, ctx.arg(node, 2, "bias"), "bias")
        c = [ctx.const(ctx.arg(node, i, k, d), node, k) for i, (k, d) in enumerate(
            (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1)), start=3)]
        params = {"out_channels": w.shape[0], "kernel_size": ints(w.shape[2:]),
                  "stride": ints(c[0]), "padding": c[1] if isinstance(c[1], str) else ints(c[1]),
                  "dilation": ints(c[2]), "groups": c[3], "bias": b is not None}
        weights = {"weight": w} | ({"bias": b} if b is not None else {})
        return ctx.add(node, spec, params, [node.args[0]], weights=weights)
    return handler


def _batch_norm(ctx, node):
    x = node.args[0]
    names = ("running_mean", "running_var", "weight", "bias")
    t = {k: _weight(ctx, node, ctx.arg(node, i, k), k) for i, k in enumerate(names, start=1)}
    training = ctx.const(ctx.arg(node, 5, "training", False), node)
    momentum = ctx.const(ctx.arg(node, 6, "momentum", 0.1), node)
    eps = ctx.const(ctx.arg(node, 7, "eps", 1e-5), node)
    track = t["running_mean"] is not None
    require(track or training, "batch norm without running statistics in evaluation")
    affine = t["weight"] is not None
    require(affine == (t["bias"] is not None), "Studio's BatchNorm has both weight and bias")
    rank = len(ctx.meta(x).shape)
    require(rank in (2, 3, 4), f"batch norm of a {rank}-axis tensor")
    spec = "norm.BatchNorm2d" if rank == 4 else "norm.BatchNorm1d"
    weights = {k: v for k, v in t.items() if v is not None}
    return ctx.add(node, spec, batchnorm_params(momentum or 0.1, eps, affine, track), [x],
                   weights=weights)


def _layer_norm(ctx, node):
    shape = ctx.const(ctx.arg(node, 1, "normalized_shape"), node)
    w = _weight(ctx, node, ctx.arg(node, 2, "weight"), "weight")
    b = _weight(ctx, node, ctx.arg(node, 3, "bias"), "bias")
    eps = ctx.const(ctx.arg(node, 4, "eps", 1e-5), node)
    require((w is None) == (b is None), "Studio's LayerNorm has both weight and bias")
    shape = [shape] if isinstance(shape, int) else list(shape)
    weights = {} if w is None else {"weight": w, "bias": b}
    return ctx.add(node, "norm.LayerNorm", {"normalized_dims": len(shape), "eps": float(eps),
                                            "elementwise_affine": w is not None},
                   [node.args[0]], weights=weights)


def _group_norm(ctx, node):
    groups = ctx.const(ctx.arg(node, 1, "num_groups"), node)
    w = _weight(ctx, node, ctx.arg(node, 2, "weight"), "weight")
    b = _weight(ctx, node, ctx.arg(node, 3, "bias"), "bias")
    eps = ctx.const(ctx.arg(node, 4, "eps", 1e-5), node)
    require((w is None) == (b is None), "Studio's GroupNorm has both weight and bias")
    weights = {} if w is None else {"weight": w, "bias": b}
    return ctx.add(node, "norm.GroupNorm", {"num_groups": groups, "eps": float(eps),
                                            "affine": w is not None},
                   [node.args[0]], weights=weights)


def _embedding(ctx, node):
    w = _weight(ctx, node, ctx.arg(node, 1, "weight"), "weight")
    pad = ctx.const(ctx.arg(node, 2, "padding_idx"), node)
    require(ctx.const(ctx.arg(node, 3, "max_norm"), node) is None,
            "Studio's Embedding has no max_norm")
    return ctx.add(node, "core.Embedding", {"num_embeddings": w.shape[0],
                                            "embedding_dim": w.shape[1], "padding_idx": pad},
                   [node.args[0]], weights={"weight": w})


def _sdpa(ctx, node):
    q, k, v = (ctx.arg(node, i, n) for i, n in enumerate(("query", "key", "value")))
    require(ctx.const_or_none(ctx.arg(node, 3, "attn_mask")) is None,
            "Studio's ScaledDotProductAttention takes no mask (is_causal is supported)")
    dropout = ctx.const(ctx.arg(node, 4, "dropout_p", 0.0), node)
    causal = ctx.const(ctx.arg(node, 5, "is_causal", False), node)
    scale = ctx.const(ctx.arg(node, 6, "scale"), node)
    require(not node.kwargs.get("enable_gqa", False), "grouped-query attention")
    return ctx.add(node, "attn.ScaledDotProductAttention", {
        "dropout": float(dropout), "is_causal": bool(causal),
        "scale": None if scale is None else float(scale)}, [q, k, v])


def _stochastic_depth(ctx, node):
    p = ctx.const(ctx.arg(node, 1, "p"), node)
    mode = ctx.const(ctx.arg(node, 2, "mode"), node)
    return ctx.add(node, "core.DropPath", {"p": float(p), "mode": mode}, [node.args[0]])


# tables -----------------------------------------------------------------------------------------

_DIM = {"dim": (1, "dim", None)}
_UNARY = ("abs", "exp", "log", "sqrt", "rsqrt", "square", "reciprocal", "neg", "sin", "cos",
          "erf")


def _methods() -> dict:
    table = {
        "add": _binary("+"), "add_": _binary("+"), "sub": _binary("-"), "sub_": _binary("-"),
        "mul": _binary("*"), "mul_": _binary("*"), "div": _binary("/"), "div_": _binary("/"),
        "pow": _pow, "maximum": _maximum, "matmul": _matmul, "bmm": _matmul,
        "relu": _act("act.ReLU"), "relu_": _act("act.ReLU"), "sigmoid": _act("act.Sigmoid"),
        "tanh": _act("act.Tanh"), "softmax": _act("act.Softmax", **_DIM),
        "log_softmax": _act("act.LogSoftmax", **_DIM),
        "mean": _reduce("mean"), "sum": _reduce("sum"), "amax": _reduce("amax"),
        "amin": _reduce("amin"), "std": _reduce("std"), "var": _reduce("var"),
        "max": _max_or_min("amax"), "min": _max_or_min("amin"),
    }
    table.update({fn: _unary(fn) for fn in _UNARY})
    table.update(fx_shapes.METHODS)
    return table


def _functions() -> dict:
    import torch
    import torch.nn.functional as F

    table = {
        operator.add: _binary("+"), operator.iadd: _binary("+"), torch.add: _binary("+"),
        operator.sub: _binary("-"), operator.isub: _binary("-"), torch.sub: _binary("-"),
        torch.rsub: _binary("-", reverse=True),
        operator.mul: _binary("*"), operator.imul: _binary("*"), torch.mul: _binary("*"),
        operator.truediv: _binary("/"), operator.itruediv: _binary("/"),
        torch.div: _binary("/"), torch.true_divide: _binary("/"),
        operator.pow: _pow, torch.pow: _pow, operator.neg: _unary("neg"),
        torch.maximum: _maximum, torch.max: _max_or_min("amax"), torch.min: _max_or_min("amin"),
        operator.matmul: _matmul, torch.matmul: _matmul, torch.bmm: _matmul,
        torch.mean: _reduce("mean"), torch.sum: _reduce("sum"), torch.amax: _reduce("amax"),
        torch.amin: _reduce("amin"), torch.std: _reduce("std"), torch.var: _reduce("var"),
        F.relu: _act("act.ReLU"), torch.relu: _act("act.ReLU"), F.relu_: _act("act.ReLU"),
        F.relu6: _act("act.ReLU6"), F.hardtanh: _hardtanh, F.hardswish: _act("act.Hardswish"),
        F.hardsigmoid: _act("act.Hardsigmoid"), F.mish: _act("act.Mish"),
        torch.sigmoid: _act("act.Sigmoid"), F.sigmoid: _act("act.Sigmoid"),
        torch.tanh: _act("act.Tanh"), F.tanh: _act("act.Tanh"),
        F.gelu: _gelu, F.silu: _act("act.SiLU"), F.softplus: _softplus,
        F.leaky_relu: _act("act.LeakyReLU", negative_slope=(1, "negative_slope", 0.01)),
        F.elu: _act("act.ELU", alpha=(1, "alpha", 1.0)),
        F.softmax: _act("act.Softmax", **_DIM), torch.softmax: _act("act.Softmax", **_DIM),
        F.log_softmax: _act("act.LogSoftmax", **_DIM),
        torch.log_softmax: _act("act.LogSoftmax", **_DIM),
        F.selu: _act("act.SELU"), torch.selu: _act("act.SELU"), F.softsign: _act("act.Softsign"),
        F.pad: _pad, F.dropout: _dropout, F.dropout1d: _dropout, F.dropout2d: _dropout,
        F.max_pool1d: _max_pool("pool.MaxPool1d"), F.max_pool2d: _max_pool("pool.MaxPool2d"),
        F.avg_pool1d: _avg_pool("pool.AvgPool1d"), F.avg_pool2d: _avg_pool("pool.AvgPool2d"),
        F.adaptive_avg_pool1d: _adaptive("pool.AdaptiveAvgPool1d"),
        F.adaptive_avg_pool2d: _adaptive("pool.AdaptiveAvgPool2d"),
        F.adaptive_max_pool1d: _adaptive("pool.AdaptiveMaxPool1d"),
        F.adaptive_max_pool2d: _adaptive("pool.AdaptiveMaxPool2d"),
        F.interpolate: _interpolate,
        F.linear: _linear, F.conv1d: _conv("conv.Conv1d"), F.conv2d: _conv("conv.Conv2d"),
        F.conv3d: _conv("conv.Conv3d"), F.batch_norm: _batch_norm, F.layer_norm: _layer_norm,
        F.group_norm: _group_norm, F.embedding: _embedding,
        F.scaled_dot_product_attention: _sdpa,
    }
    table.update({getattr(torch, fn): _unary(fn) for fn in _UNARY})
    table.update(fx_shapes.functions())
    return table


_TABLES: dict = {}


def function_handler(target):
    if not _TABLES:
        _TABLES["functions"] = _functions()
        _TABLES["methods"] = _methods()
    handler = _TABLES["functions"].get(target)
    if handler is None and getattr(target, "__name__", "") == "stochastic_depth":
        return _stochastic_depth  # torchvision.ops.stochastic_depth
    return handler


def method_handler(name: str):
    function_handler(None)
    return _TABLES["methods"].get(name)
