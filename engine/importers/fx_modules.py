"""Modules the torch.fx front end maps onto Studio layers, each with its weights.

A module class with an entry here (or a subclass that keeps its `forward`) is a leaf of the
trace. A subclass that overrides `forward` (timm's BatchNormAct2d, torchvision's LayerNorm2d)
is traced through instead, and its functional calls on its own weights (`F.batch_norm`,
`F.layer_norm`, ...) map onto the same layers (fx_functions). Studio's own helper classes in
an exported script (TopK, DropPath, LearnedTensor, ...) are recognised by their source.
"""
from __future__ import annotations

from ..layers import REGISTRY
from .fx_studio import studio_class
from .fx_values import AttentionOut


class Unsupported(Exception):
    """The op is known, but this use or configuration has no exact Studio equivalent; the
    message says what (the importer adds the node, op and source line)."""


def require(cond: bool, why: str) -> None:
    if not cond:
        raise Unsupported(why)


def ints(v):
    """An int or a list of ints, as a person writes it: (3, 3) -> 3, (1, 2) -> [1, 2]."""
    if isinstance(v, (tuple, list)):
        v = [int(x) for x in v]
        return v[0] if v and all(x == v[0] for x in v) else v
    return int(v)


# -- (spec, params) from a module's configuration -----------------------------------------------

def _linear(m):
    return "core.Linear", {"out_features": m.out_features, "bias": m.bias is not None,
                           "weight_norm": weight_reparam(m, 0)}


def weight_reparam(m, dim: int) -> str:
    """'weight_norm' / 'spectral_norm' when the module's weight carries that one
    torch.nn.utils.parametrizations parametrization with Studio's settings, else 'none'."""
    chain = getattr(getattr(m, "parametrizations", None), "weight", None)
    if chain is None:
        return "none"
    require(len(chain) == 1 and len(m.parametrizations) == 1,
            "Studio re-expresses one weight parametrization (weight_norm or spectral_norm)")
    kind = type(chain[0]).__name__
    if kind == "_WeightNorm":
        require(chain[0].dim == dim, f"Studio's weight_norm normalises along dim {dim}")
        return "weight_norm"
    require(kind == "_SpectralNorm", f"Studio has no weight parametrization {kind}")
    p = chain[0]
    require(p.n_power_iterations == 1 and p.eps == 1e-12 and p.dim == dim,
            "Studio's spectral_norm runs one power iteration (eps 1e-12)")
    return "spectral_norm"


def _conv(spec: str):
    def params(m):
        require(m.padding_mode == "zeros", f"Studio's convolution pads with zeros only "
                f"(padding_mode={m.padding_mode!r})")
        p = {"out_channels": m.out_channels, "kernel_size": ints(m.kernel_size),
             "stride": ints(m.stride), "dilation": ints(m.dilation), "groups": m.groups,
             "bias": m.bias is not None,
             "weight_norm": weight_reparam(m, 1 if spec == "conv.ConvTranspose2d" else 0),
             "padding": m.padding if isinstance(m.padding, str) else ints(m.padding)}
        if spec == "conv.ConvTranspose2d":
            p["output_padding"] = ints(m.output_padding)
        return spec, p
    return params


def batchnorm_params(momentum, eps, affine: bool, track: bool) -> dict:
    require(momentum is not None, "Studio's BatchNorm has no momentum=None (a cumulative "
            "average)")
    return {"eps": float(eps), "momentum": float(momentum), "affine": affine,
            "track_running_stats": track}


def _batchnorm(spec: str):
    def params(m):
        return spec, batchnorm_params(m.momentum, m.eps, m.affine, m.track_running_stats)
    return params


def _layernorm(m):
    require(m.elementwise_affine is False or m.bias is not None,
            "Studio's LayerNorm has no bias=False")
    return "norm.LayerNorm", {"normalized_dims": len(m.normalized_shape), "eps": m.eps,
                              "elementwise_affine": m.elementwise_affine}


def _groupnorm(m):
    return "norm.GroupNorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine}


def pool_params(kind: str, kernel, stride, padding, ceil_mode, dilation=1,
                count_include_pad=True, divisor_override=None, return_indices=False) -> dict:
    require(ints(dilation) == 1, f"Studio's pooling has no dilation "
            f"(dilation={dilation})")
    require(not return_indices, "Studio's pooling does not return indices")
    require(divisor_override is None, "Studio's average pooling has no divisor_override")
    k = ints(kernel)
    stride = 0 if stride in (None, [], ()) else ints(stride)
    params = {"kernel_size": k, "stride": 0 if stride == k else stride,
              "padding": ints(padding), "ceil_mode": bool(ceil_mode)}
    if kind == "avg":
        params["count_include_pad"] = bool(count_include_pad)
    return params


def _pool(spec: str, kind: str):
    def params(m):
        return spec, pool_params(kind, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                                 getattr(m, "dilation", 1), getattr(m, "count_include_pad", True),
                                 getattr(m, "divisor_override", None),
                                 getattr(m, "return_indices", False))
    return params


def adaptive_size(size):
    require(size is not None and (not isinstance(size, (tuple, list)) or None not in size),
            "Studio's adaptive pooling needs every output size (None keeps an input size)")
    return ints(size)


def _adaptive(spec: str):
    def params(m):
        require(not getattr(m, "return_indices", False), "Studio's pooling does not return "
                "indices")
        return spec, {"output_size": adaptive_size(m.output_size)}
    return params


def upsample_params(size, scale, mode, align_corners) -> dict:
    require(size is None and scale is not None, "Studio's Upsample takes a scale factor, "
            "not a fixed output size")
    if isinstance(scale, (tuple, list)):
        require(len(set(scale)) == 1, f"Studio's Upsample scales every axis alike ({scale})")
        scale = scale[0]
    require(mode in ("nearest", "linear", "bilinear"), f"Studio's Upsample has no mode "
            f"{mode!r}")
    require(align_corners in (None, False), "Studio's Upsample has no align_corners=True")
    return {"scale_factor": float(scale), "mode": mode}


def _upsample(m):
    return "pool.Upsample", upsample_params(m.size, m.scale_factor, m.mode, m.align_corners)


def _embedding(m):
    require(m.max_norm is None, "Studio's Embedding has no max_norm (it rescales the table "
            "while running)")
    require(not m.sparse, "Studio's Embedding has no sparse gradients")
    return "core.Embedding", {"num_embeddings": m.num_embeddings,
                              "embedding_dim": m.embedding_dim, "padding_idx": m.padding_idx}


def _simple(spec: str, **attrs: str):
    def params(m):
        return spec, {k: getattr(m, a) for k, a in attrs.items()}
    return params


def _gelu(m):
    require(m.approximate == "none", "Studio's GELU is exact (approximate='tanh')")
    return "act.GELU", {}


def _softplus(m):
    require(m.threshold == 20, f"Studio's Softplus uses threshold 20 ({m.threshold})")
    return "act.Softplus", {"beta": float(m.beta)}


def _hardtanh(m):
    require((m.min_val, m.max_val) == (0.0, 6.0), "Studio has Hardtanh only as ReLU6 (0, 6)")
    return "act.ReLU6", {}


def _dropout(m):
    return "core.Dropout", {"p": float(m.p)}


def pad_params(pad, mode: str, value) -> dict:
    """Studio's Pad params from F.pad's (last axis first) pairs."""
    pad = [int(p) for p in pad]
    require(len(pad) % 2 == 0, f"pads {pad} are not (before, after) pairs")
    require(mode in ("constant", "reflect", "replicate", "circular"), f"pad mode {mode!r}")
    require(all(p >= 0 for p in pad), "negative padding (cropping) has no Studio layer")
    pairs = [pad[i:i + 2] for i in range(0, len(pad), 2)][::-1]
    return {"pads": [p for pair in pairs for p in pair], "mode": mode,
            "value": float(value or 0.0)}


def _pad(mode: str):
    def params(m):
        return "core.Pad", pad_params(m.padding, mode, getattr(m, "value", 0.0))
    return params


def _softmax(spec: str):
    def params(m):
        return spec, {"dim": m.dim}
    return params


def _table() -> dict:
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
        nn.AdaptiveMaxPool1d: _adaptive("pool.AdaptiveMaxPool1d"),
        nn.AdaptiveMaxPool2d: _adaptive("pool.AdaptiveMaxPool2d"),
        nn.Upsample: _upsample, nn.Embedding: _embedding,
        nn.Dropout: _dropout, nn.Dropout1d: _dropout, nn.Dropout2d: _dropout,
        nn.ReLU: _simple("act.ReLU"), nn.GELU: _gelu, nn.SiLU: _simple("act.SiLU"),
        nn.Sigmoid: _simple("act.Sigmoid"), nn.Tanh: _simple("act.Tanh"),
        nn.ReLU6: _simple("act.ReLU6"), nn.Hardtanh: _hardtanh,
        nn.Hardswish: _simple("act.Hardswish"), nn.Hardsigmoid: _simple("act.Hardsigmoid"),
        nn.Mish: _simple("act.Mish"),
        nn.LeakyReLU: _simple("act.LeakyReLU", negative_slope="negative_slope"),
        nn.ELU: _simple("act.ELU", alpha="alpha"), nn.Softplus: _softplus,
        nn.Softmax: _softmax("act.Softmax"), nn.LogSoftmax: _softmax("act.LogSoftmax"),
        nn.SELU: _simple("act.SELU"), nn.Softsign: _simple("act.Softsign"),
        nn.ConstantPad1d: _pad("constant"), nn.ConstantPad2d: _pad("constant"),
        nn.ConstantPad3d: _pad("constant"), nn.ZeroPad1d: _pad("constant"),
        nn.ZeroPad2d: _pad("constant"), nn.ZeroPad3d: _pad("constant"),
        nn.ReflectionPad1d: _pad("reflect"), nn.ReflectionPad2d: _pad("reflect"),
        nn.ReflectionPad3d: _pad("reflect"), nn.ReplicationPad1d: _pad("replicate"),
        nn.ReplicationPad2d: _pad("replicate"), nn.ReplicationPad3d: _pad("replicate"),
        nn.CircularPad1d: _pad("circular"), nn.CircularPad2d: _pad("circular"),
        nn.CircularPad3d: _pad("circular"),
    }


_TABLE: dict = {}


def table() -> dict:
    if not _TABLE:
        _TABLE.update(_table())
    return _TABLE


# -- handlers: (importer, fx node, module) -> value ----------------------------------------------

def one_input(ctx, node, spec: str, params: dict, module):
    """The common case: one tensor in, one node with the module's weights."""
    extra = [a for a in (*node.args[1:], *node.kwargs.values()) if ctx.const_or_none(a)]
    require(not extra, f"Studio's {REGISTRY[spec].name} takes one input; the call passes more")
    return ctx.add(node, spec, params, [node.args[0]], weights=module.state_dict(),
                   module=module)


def _mapped(params_of):
    def handler(ctx, node, module):
        spec, params = params_of(module)
        if spec in ("act.Softmax", "act.LogSoftmax") and params["dim"] is None:
            params["dim"] = ctx.implicit_softmax_dim(node, node.args[0])
        if spec == "core.Linear":
            params["every_position"] = len(ctx.meta(node.args[0]).shape) > 3
        return one_input(ctx, node, spec, params, module)
    return handler


def _identity(ctx, node, module):
    return ctx.tval(node.args[0], node)


def _shape_module(ctx, node, module):
    """nn.Flatten / nn.Unflatten: a reshape to the shape the model produced."""
    return ctx.reshape(node, node.args[0])


def _drop_path(ctx, node, module):
    p = getattr(module, "drop_prob", getattr(module, "p", None))
    require(isinstance(p, (int, float)), "a drop path module without drop_prob or p")
    require(getattr(module, "scale_by_keep", True), "Studio's DropPath always rescales the "
            "kept samples (scale_by_keep=False)")
    mode = getattr(module, "mode", "row")
    require(mode in ("row", "batch"), f"Studio's DropPath has no mode {mode!r}")
    return ctx.add(node, "core.DropPath", {"p": float(p), "mode": mode}, [node.args[0]])


def _attention(ctx, node, module):
    from .fx_recurrent import sequence_input

    require(module._qkv_same_embed_dim and module.bias_k is None and not module.add_zero_attn,
            "Studio's MultiheadSelfAttention has no separate key/value sizes, bias_kv or "
            "add_zero_attn")
    args = [ctx.arg(node, i, k) for i, k in enumerate(("query", "key", "value"))]
    masks = [ctx.arg(node, i, k) for i, k in ((3, "key_padding_mask"), (5, "attn_mask"))]
    require(len({id(a) for a in args}) == 1, "Studio's MultiheadSelfAttention is "
            "self-attention: query, key and value must be the same tensor")
    require(all(ctx.const_or_none(m) is None for m in masks) and
            not ctx.const_or_none(ctx.arg(node, 7, "is_causal", False)),
            "Studio's MultiheadSelfAttention takes no masks")
    x, perm = sequence_input(ctx, node, args[0], module.batch_first)
    out = ctx.add(node, "attn.MultiheadSelfAttention", {
        "num_heads": module.num_heads, "dropout": float(module.dropout),
        "bias": module.in_proj_bias is not None}, [x], weights=module.state_dict(),
        module=module, shape=False)
    return AttentionOut(out.permuted(perm) if perm else out)


def _encoder_layer_params(m) -> dict:
    act = {1: "relu", 2: "gelu"}.get(getattr(m, "activation_relu_or_gelu", 0))
    require(act is not None, "Studio's TransformerEncoderLayer has relu or gelu only")
    require(m.norm1.eps == 1e-5, "Studio's TransformerEncoderLayer uses layer_norm_eps=1e-5")
    require(m.linear1.bias is not None, "Studio's TransformerEncoderLayer has biases")
    return {"nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
            "dropout": float(m.dropout.p), "activation": act, "norm_first": m.norm_first}


def _masks_are_none(ctx, node, start: int, names: tuple[str, ...]) -> None:
    for i, name in enumerate(names):
        require(ctx.const_or_none(ctx.arg(node, start + i, name)) in (None, False),
                f"Studio's Transformer layers take no {name}")


def _encoder_layer(ctx, node, module):
    from .fx_recurrent import sequence_input

    _masks_are_none(ctx, node, 1, ("src_mask", "src_key_padding_mask", "is_causal"))
    x, perm = sequence_input(ctx, node, node.args[0], module.self_attn.batch_first)
    out = ctx.add(node, "attn.TransformerEncoderLayer", _encoder_layer_params(module), [x],
                  weights=module.state_dict(), module=module, shape=perm is None)
    return out.permuted(perm) if perm else out


def _encoder(ctx, node, module):
    """nn.TransformerEncoder: its layers (and final norm) as a chain of nodes."""
    from .fx_recurrent import sequence_input

    _masks_are_none(ctx, node, 1, ("mask", "src_key_padding_mask", "is_causal"))
    layers = list(module.layers)
    require(layers, "an empty TransformerEncoder")
    x, perm = sequence_input(ctx, node, node.args[0], layers[0].self_attn.batch_first)
    for i, layer in enumerate(layers):
        x = ctx.add(node, "attn.TransformerEncoderLayer", _encoder_layer_params(layer), [x],
                    weights=layer.state_dict(), module=layer, shape=False,
                    name=f"{node.name}_layers_{i}").wire
    if module.norm is not None:
        spec, params = _layernorm(module.norm)
        x = ctx.add(node, spec, params, [x], weights=module.norm.state_dict(),
                    module=module.norm, shape=False, name=f"{node.name}_norm").wire
    out = ctx.tensor_of(x)
    return out.permuted(perm) if perm else out


def _recurrent(ctx, node, module):
    from .fx_recurrent import recurrent
    return recurrent(ctx, node, module)


def _studio_handler(ctx, node, module):
    spec, params = studio_class(module)
    require(not node.kwargs, f"Studio's {REGISTRY[spec].name} takes its inputs in order")
    return ctx.add(node, spec, params(module), list(node.args), weights=module.state_dict(),
                   module=module)


def _is_drop_path(module) -> bool:
    return type(module).__name__ in ("DropPath", "StochasticDepth") and \
        studio_class(module) is None and hasattr(module, "forward")


def handler_for(module):
    """The handler of `module`, or None when the trace should go through its forward."""
    from torch import nn

    cls = type(module)
    if studio_class(module) is not None:
        return _studio_handler
    if _is_drop_path(module):
        return _drop_path
    special = {nn.Identity: _identity, nn.Flatten: _shape_module, nn.Unflatten: _shape_module,
               nn.MultiheadAttention: _attention, nn.TransformerEncoderLayer: _encoder_layer,
               nn.TransformerEncoder: _encoder, nn.RNN: _recurrent, nn.LSTM: _recurrent,
               nn.GRU: _recurrent}
    for base in cls.__mro__:
        if base is nn.Module:
            return None
        known = special.get(base) or (base in table() and _mapped(table()[base]))
        if known:
            # a subclass that overrides forward is traced through (F.* on its weights)
            return known if cls.forward is base.forward else None
    return None


__all__ = ["Unsupported", "handler_for", "require"]
