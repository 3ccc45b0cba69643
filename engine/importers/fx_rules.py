"""How traced torch.fx operations map onto Studio layer specs (used by the torch.fx front end).

Module handlers take the submodule and return (spec id, params); function and tensor-method
handlers take the fx node and the traced shapes and return a `Mapped`. A handler raises
`Unsupported(why)` for a configuration Studio's layer cannot reproduce exactly.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Mapped:
    """What one traced operation becomes: a node of `spec` on `inputs`, or an alias."""

    spec: str = ""
    params: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)   # fx nodes (tensor arguments), in port order
    module: Any = None                           # submodule whose state dict becomes weights
    alias: Any = None                            # fx node whose value this op passes through


# -- describing ops in messages ---------------------------------------------------------------

def describe_target(node) -> str:
    """'torch.sin', 'nn.PixelShuffle', 'Tensor.sin' for an fx node."""
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "call_function":
        t = node.target
        mod = getattr(t, "__module__", None) or ""
        name = getattr(t, "__name__", repr(t))
        if mod == "_operator":
            return f"operator.{name}"
        if mod.startswith("torch.nn.functional") or t in _FUNCTIONAL_NAMES:
            return f"F.{_FUNCTIONAL_NAMES.get(t, name)}"
        import torch

        if mod.split(".")[0] == "torch" or getattr(torch, name, None) is t:
            return f"torch.{name}"
        return f"{mod}.{name}" if mod else name
    if node.op == "get_attr":
        return f"attribute self.{node.target}"
    return node.op


def module_label(module) -> str:
    cls = type(module)
    return f"nn.{cls.__name__}" if cls.__module__.startswith("torch.nn") else \
        f"{cls.__module__}.{cls.__qualname__}"


# -- module handlers ----------------------------------------------------------------------------

def _ints(v) -> list[int] | int:
    if isinstance(v, (tuple, list)):
        return [int(x) for x in v]
    return int(v)


def _require(cond: bool, why: str) -> None:
    if not cond:
        raise Unsupported(why)


class Unsupported(Exception):
    """Raised by a handler: the op is known but this configuration has no Studio layer."""


def _linear(m):
    return "core.Linear", {"out_features": m.out_features, "bias": m.bias is not None}


def _conv(spec: str):
    def handler(m):
        _require(m.padding_mode == "zeros", f"padding_mode={m.padding_mode!r} (only zeros)")
        p = {"out_channels": m.out_channels, "kernel_size": _ints(m.kernel_size),
             "stride": _ints(m.stride), "dilation": _ints(m.dilation), "groups": m.groups,
             "bias": m.bias is not None,
             "padding": m.padding if isinstance(m.padding, str) else _ints(m.padding)}
        if spec == "conv.ConvTranspose2d":
            p["output_padding"] = _ints(m.output_padding)
        return spec, p
    return handler


def _batchnorm(spec: str):
    def handler(m):
        _require(m.momentum is not None, "momentum=None (cumulative moving average)")
        return spec, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine,
                      "track_running_stats": m.track_running_stats}
    return handler


def _layernorm(m):
    _require(m.elementwise_affine is False or m.bias is not None, "bias=False")
    return "norm.LayerNorm", {"normalized_dims": len(m.normalized_shape), "eps": m.eps,
                              "elementwise_affine": m.elementwise_affine}


def _groupnorm(m):
    return "norm.GroupNorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine}


def _pool(spec: str, kind: str):
    def handler(m):
        _require(not m.ceil_mode, "ceil_mode=True")
        if kind == "max":
            _require(m.dilation in (1, (1, 1), [1, 1], (1,)), f"dilation={m.dilation}")
            _require(not m.return_indices, "return_indices=True")
        else:
            _require(m.count_include_pad, "count_include_pad=False")
            _require(getattr(m, "divisor_override", None) is None, "divisor_override")
        k = _ints(m.kernel_size)
        stride = _ints(m.stride) if m.stride is not None else 0
        return spec, {"kernel_size": k, "stride": stride if stride != k else 0,
                      "padding": _ints(m.padding)}
    return handler


def _adaptive(spec: str):
    def handler(m):
        size = m.output_size
        _require(size is not None and (not isinstance(size, tuple) or None not in size),
                 "an output size of None")
        return spec, {"output_size": _ints(size)}
    return handler


def _upsample(m):
    _require(m.size is None and m.scale_factor is not None, "a fixed output size")
    sf = m.scale_factor
    if isinstance(sf, tuple):
        _require(len(set(sf)) == 1, f"per-axis scale factors {sf}")
        sf = sf[0]
    _require(m.align_corners in (None, False), "align_corners=True")
    return "pool.Upsample", {"scale_factor": float(sf), "mode": m.mode}


def _flatten_module(m):
    _require(m.start_dim == 1 and m.end_dim == -1, f"start_dim={m.start_dim}, "
             f"end_dim={m.end_dim}")
    return "core.Flatten", {}


def _embedding(m):
    _require(m.padding_idx is None, f"padding_idx={m.padding_idx}")
    _require(m.max_norm is None, f"max_norm={m.max_norm}")
    _require(not m.sparse, "sparse=True")
    return "core.Embedding", {"num_embeddings": m.num_embeddings,
                              "embedding_dim": m.embedding_dim}


def _simple(spec: str, **attrs: str):
    def handler(m):
        return spec, {k: getattr(m, a) for k, a in attrs.items()}
    return handler


def _gelu(m):
    _require(m.approximate == "none", f"approximate={m.approximate!r}")
    return "act.GELU", {}


def _softplus(m):
    _require(m.threshold == 20, f"threshold={m.threshold}")
    return "act.Softplus", {"beta": float(m.beta)}


def _softmax(spec: str):
    def handler(m):
        _require(m.dim is not None, "an implicit dim (pass dim=...)")
        return spec, {"dim": m.dim}
    return handler


def _recurrent(spec: str):
    def handler(m):
        _require(m.batch_first, "batch_first=False (Studio sequences are (N, L, F))")
        _require(getattr(m, "proj_size", 0) == 0, "proj_size")
        p = {"hidden_size": m.hidden_size, "num_layers": m.num_layers,
             "bidirectional": m.bidirectional, "dropout": float(m.dropout), "bias": m.bias,
             "output": "sequence"}
        if spec == "rnn.RNN":
            p["nonlinearity"] = m.nonlinearity
        return spec, p
    return handler


def _self_attention(m):
    _require(m.batch_first, "batch_first=False (Studio sequences are (N, L, E))")
    _require(m._qkv_same_embed_dim and m.bias_k is None and not m.add_zero_attn,
             "separate key/value sizes, bias_kv or add_zero_attn")
    return "attn.MultiheadSelfAttention", {"num_heads": m.num_heads, "dropout": float(m.dropout),
                                           "bias": m.in_proj_bias is not None}


def _encoder_layer(m):
    _require(m.self_attn.batch_first, "batch_first=False (Studio sequences are (N, L, E))")
    act = {1: "relu", 2: "gelu"}.get(getattr(m, "activation_relu_or_gelu", 0))
    _require(act is not None, "a custom activation (relu and gelu only)")
    _require(m.norm1.eps == 1e-5 and m.linear1.bias is not None, "layer_norm_eps or bias=False")
    return "attn.TransformerEncoderLayer", {
        "nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
        "dropout": float(m.dropout.p), "activation": act, "norm_first": m.norm_first}


def module_handlers() -> dict[type, Callable]:
    from torch import nn

    return {
        nn.Linear: _linear,
        nn.Conv1d: _conv("conv.Conv1d"), nn.Conv2d: _conv("conv.Conv2d"),
        nn.Conv3d: _conv("conv.Conv3d"), nn.ConvTranspose2d: _conv("conv.ConvTranspose2d"),
        nn.BatchNorm1d: _batchnorm("norm.BatchNorm1d"),
        nn.BatchNorm2d: _batchnorm("norm.BatchNorm2d"),
        nn.LayerNorm: _layernorm, nn.GroupNorm: _groupnorm,
        nn.MaxPool1d: _pool("pool.MaxPool1d", "max"), nn.MaxPool2d: _pool("pool.MaxPool2d", "max"),
        nn.AvgPool1d: _pool("pool.AvgPool1d", "avg"), nn.AvgPool2d: _pool("pool.AvgPool2d", "avg"),
        nn.AdaptiveAvgPool1d: _adaptive("pool.AdaptiveAvgPool1d"),
        nn.AdaptiveAvgPool2d: _adaptive("pool.AdaptiveAvgPool2d"),
        nn.Upsample: _upsample,
        nn.Flatten: _flatten_module, nn.Identity: _simple("core.Identity"),
        nn.Dropout: _simple("core.Dropout", p="p"), nn.Embedding: _embedding,
        nn.ReLU: _simple("act.ReLU"), nn.GELU: _gelu, nn.SiLU: _simple("act.SiLU"),
        nn.Sigmoid: _simple("act.Sigmoid"), nn.Tanh: _simple("act.Tanh"),
        nn.LeakyReLU: _simple("act.LeakyReLU", negative_slope="negative_slope"),
        nn.ELU: _simple("act.ELU", alpha="alpha"), nn.Softplus: _softplus,
        nn.Softmax: _softmax("act.Softmax"), nn.LogSoftmax: _softmax("act.LogSoftmax"),
        nn.RNN: _recurrent("rnn.RNN"), nn.LSTM: _recurrent("rnn.LSTM"),
        nn.GRU: _recurrent("rnn.GRU"),
        nn.MultiheadAttention: _self_attention, nn.TransformerEncoderLayer: _encoder_layer,
    }


# -- function and method handlers --------------------------------------------------------------

def _arg(node, i: int, name: str, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def fx_nodes(values) -> list:
    from torch import fx
    return [v for v in values if isinstance(v, fx.Node)]


def _binary(spec: str):
    def handler(node, shapes):
        from torch import fx
        a, b = node.args[0], _arg(node, 1, "other")
        _require(isinstance(a, fx.Node) and isinstance(b, fx.Node)
                 and shapes.is_tensor(a) and shapes.is_tensor(b),
                 "an operand that is a constant, not a tensor")
        _require(node.kwargs.get("alpha", 1) == 1, "alpha")
        _require(shapes.shape(a) == shapes.shape(b),
                 f"broadcasting {tuple(shapes.shape(a))} with {tuple(shapes.shape(b))}")
        return Mapped(spec, {"inputs": 2}, [a, b])
    return handler


def _cat(node, shapes):
    tensors = list(_arg(node, 0, "tensors"))
    dim = _arg(node, 1, "dim", 0)
    _require(dim != 0, "concatenation along the batch axis (dim=0)")
    _require(len(tensors) >= 2, "fewer than two tensors")
    _require(all(shapes.is_tensor(t) for t in tensors), "a constant operand")
    return Mapped("merge.Concatenate", {"inputs": len(tensors), "axis": dim}, tensors)


def _reshape(node, shapes):
    src = node.args[0]
    ins, out = shapes.shape(src), shapes.shape(node)
    _require(len(out) >= 1 and out[0] == ins[0],
             f"a reshape that changes the batch dimension ({tuple(ins)} -> {tuple(out)})")
    if len(out) == 2:
        return Mapped("core.Flatten", {}, [src])
    return Mapped("core.Reshape", {"shape": list(out[1:])}, [src])


def _flatten_fn(node, shapes):
    start, end = _arg(node, 1, "start_dim", 0), _arg(node, 2, "end_dim", -1)
    _require(start != 0, "flattening the batch axis (start_dim=0)")
    if end == -1 and start == 1:
        return Mapped("core.Flatten", {}, [node.args[0]])
    return _reshape(node, shapes)


def _permute(node, shapes):
    dims = node.args[1:] if node.op == "call_method" and len(node.args) > 2 else \
        _arg(node, 1, "dims")
    rank = len(shapes.shape(node.args[0]))
    dims = [d % rank for d in dims]
    _require(dims[0] == 0, "moving the batch axis")
    return Mapped("core.Permute", {"dims": dims[1:]}, [node.args[0]])


def _transpose(node, shapes):
    rank = len(shapes.shape(node.args[0]))
    a, b = _arg(node, 1, "dim0") % rank, _arg(node, 2, "dim1") % rank
    _require(0 not in (a, b), "moving the batch axis")
    dims = list(range(rank))
    dims[a], dims[b] = dims[b], dims[a]
    return Mapped("core.Permute", {"dims": dims[1:]}, [node.args[0]])


def _act(spec: str, **kw: tuple[int, str, Any]):
    """An activation function; kw maps a Studio param to (position, keyword, default)."""
    def handler(node, shapes):
        params = {k: _arg(node, i, name, d) for k, (i, name, d) in kw.items()}
        if spec in ("act.Softmax", "act.LogSoftmax"):
            _require(params["dim"] is not None, "an implicit dim (pass dim=...)")
        return Mapped(spec, params, [node.args[0]])
    return handler


def _softplus_fn(node, shapes):
    _require(_arg(node, 2, "threshold", 20) == 20, "a threshold other than 20")
    return Mapped("act.Softplus", {"beta": float(_arg(node, 1, "beta", 1.0))}, [node.args[0]])


def _gelu_fn(node, shapes):
    _require(node.kwargs.get("approximate", "none") == "none", "approximate='tanh'")
    return Mapped("act.GELU", {}, [node.args[0]])


def _dropout_fn(node, shapes):
    return Mapped("core.Dropout", {"p": float(_arg(node, 1, "p", 0.5))}, [node.args[0]])


def _pool_fn(spec: str, kind: str):
    def handler(node, shapes):
        k = _ints(_arg(node, 1, "kernel_size"))
        stride = _arg(node, 2, "stride", None)
        stride = 0 if stride in (None, [], ()) else _ints(stride)
        pad = _ints(_arg(node, 3, "padding", 0))
        _require(not _arg(node, 4 if kind == "avg" else 5, "ceil_mode", False), "ceil_mode")
        if kind == "max":
            _require(_ints(_arg(node, 4, "dilation", 1)) in (1, [1, 1], [1]), "dilation")
            _require(not node.kwargs.get("return_indices", False), "return_indices")
        else:
            _require(_arg(node, 5, "count_include_pad", True), "count_include_pad=False")
            _require(_arg(node, 6, "divisor_override", None) is None, "divisor_override")
        return Mapped(spec, {"kernel_size": k, "stride": 0 if stride == k else stride,
                             "padding": pad}, [node.args[0]])
    return handler


def _adaptive_fn(spec: str):
    def handler(node, shapes):
        size = _arg(node, 1, "output_size")
        _require(size is not None and (not isinstance(size, tuple) or None not in size),
                 "an output size of None")
        return Mapped(spec, {"output_size": _ints(size)}, [node.args[0]])
    return handler


def _mean(node, shapes):
    x = node.args[0]
    rank = len(shapes.shape(x))
    dims = _arg(node, 1, "dim")
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    _require(rank >= 3 and sorted(d % rank for d in dims) == list(range(2, rank))
             and not _arg(node, 2, "keepdim", False),
             "a mean that is not over all spatial axes")
    return Mapped("pool.GlobalAvgPool", {}, [x])


def _alias(node, shapes):
    return Mapped(alias=node.args[0])


def function_handlers() -> dict:
    import torch
    import torch.nn.functional as F

    dim = {"dim": (1, "dim", None)}
    table = {
        operator.add: _binary("merge.Add"), torch.add: _binary("merge.Add"),
        operator.iadd: _binary("merge.Add"),
        operator.mul: _binary("merge.Multiply"), torch.mul: _binary("merge.Multiply"),
        operator.imul: _binary("merge.Multiply"),
        torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat,
        torch.flatten: _flatten_fn, torch.reshape: _reshape, torch.permute: _permute,
        torch.transpose: _transpose, torch.mean: _mean,
        F.relu: _act("act.ReLU"), torch.relu: _act("act.ReLU"),
        torch.sigmoid: _act("act.Sigmoid"), F.sigmoid: _act("act.Sigmoid"),
        torch.tanh: _act("act.Tanh"), F.tanh: _act("act.Tanh"),
        F.gelu: _gelu_fn, F.silu: _act("act.SiLU"),
        F.leaky_relu: _act("act.LeakyReLU", negative_slope=(1, "negative_slope", 0.01)),
        F.elu: _act("act.ELU", alpha=(1, "alpha", 1.0)), F.softplus: _softplus_fn,
        F.softmax: _act("act.Softmax", **dim), torch.softmax: _act("act.Softmax", **dim),
        F.log_softmax: _act("act.LogSoftmax", **dim),
        torch.log_softmax: _act("act.LogSoftmax", **dim),
        F.dropout: _dropout_fn,
        F.max_pool1d: _pool_fn("pool.MaxPool1d", "max"),
        F.max_pool2d: _pool_fn("pool.MaxPool2d", "max"),
        F.avg_pool1d: _pool_fn("pool.AvgPool1d", "avg"),
        F.avg_pool2d: _pool_fn("pool.AvgPool2d", "avg"),
        F.adaptive_avg_pool1d: _adaptive_fn("pool.AdaptiveAvgPool1d"),
        F.adaptive_avg_pool2d: _adaptive_fn("pool.AdaptiveAvgPool2d"),
    }
    return table


METHODS: dict[str, Callable] = {
    "add": _binary("merge.Add"), "mul": _binary("merge.Multiply"),
    "view": _reshape, "reshape": _reshape, "flatten": _flatten_fn, "permute": _permute,
    "transpose": _transpose, "mean": _mean, "contiguous": _alias,
    "relu": _act("act.ReLU"), "sigmoid": _act("act.Sigmoid"), "tanh": _act("act.Tanh"),
    "softmax": _act("act.Softmax", dim=(1, "dim", None)),
    "log_softmax": _act("act.LogSoftmax", dim=(1, "dim", None)),
}
META_METHODS = {"size", "dim"}
_FUNCTIONAL_NAMES: dict = {}


def init_functional_names() -> None:
    import torch.nn.functional as F
    if not _FUNCTIONAL_NAMES:
        for name in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
                     "adaptive_max_pool1d", "adaptive_max_pool2d"):
            _FUNCTIONAL_NAMES[getattr(F, name)] = name
