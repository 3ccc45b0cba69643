"""How Keras layers map onto Studio layer specs, weights converted to PyTorch's layout.

A rule takes the importer, the layer's config, its input KValues and its weight arrays (in
Keras' variable order) and returns the output KValue (see keras_import for the layout rule).
Keras kernels are (in, out) / (*kernel, in, out); PyTorch's are (out, in) / (out, in, *kernel).
Keras LSTM gates are i, f, c, o like PyTorch's; GRU gates z, r, h become r, z, n, and Keras'
single recurrent bias becomes PyTorch's b_hh (b_ih for LSTM/SimpleRNN gets the bias, b_hh 0).
"""
from __future__ import annotations

import math

import numpy as np

from .keras_import import KerasImporter, KValue
from .layout import linear_params

# activation= name -> (spec, params); 'linear' adds nothing
_ACTS = {
    "relu": ("act.ReLU", {}), "sigmoid": ("act.Sigmoid", {}), "tanh": ("act.Tanh", {}),
    "softmax": ("act.Softmax", {"dim": -1}), "log_softmax": ("act.LogSoftmax", {"dim": -1}),
    "softplus": ("act.Softplus", {}), "softsign": ("act.Softsign", {}),
    "selu": ("act.SELU", {}), "elu": ("act.ELU", {}), "gelu": ("act.GELU", {}),
    "silu": ("act.SiLU", {}), "swish": ("act.SiLU", {}), "relu6": ("act.ReLU6", {}),
    "hard_sigmoid": ("act.Hardsigmoid", {}), "hard_silu": ("act.Hardswish", {}),
    "hard_swish": ("act.Hardswish", {}), "mish": ("act.Mish", {}),
    "leaky_relu": ("act.LeakyReLU", {"negative_slope": 0.2}),
    "exponential": ("math.Unary", {"fn": "exp"}),
}


def _act_name(value) -> str:
    if isinstance(value, dict):  # a serialized built-in function
        return str(value.get("config", value.get("class_name", "")))
    return str(value or "linear")


def activation(imp: KerasImporter, v: KValue, value, suffix: str = "") -> KValue:
    """Apply a Keras activation (a layer's activation= or an Activation layer)."""
    name = _act_name(value)
    if name == "linear":
        return v
    if name == "hard_sigmoid" and imp.km.keras_version.startswith(("1.", "2.")):
        raise imp.error("Keras 2's hard_sigmoid (clip(0.2·x + 0.5)) differs from Studio's "
                        "Hardsigmoid (relu6(x + 3)/6)")
    if name not in _ACTS:
        raise imp.error(f"activation {name!r} has no Studio layer")
    spec, params = _ACTS[name]
    wire = v.wire
    if spec in ("act.Softmax", "act.LogSoftmax"):
        wire = imp.keras_layout(v)
        v = KValue(wire)
    return KValue(imp.add(spec, params, [wire], suffix=suffix), v.moved)


def _weights_count(imp, weights, n: int, what: str) -> None:
    if len(weights) != n:
        raise imp.error(f"expected {n} weight arrays ({what}), the file has {len(weights)}")


# -- core --------------------------------------------------------------------------------------

def dense(imp, cfg, ins, weights):
    x = imp.keras_layout(ins[0])
    bias = cfg.get("use_bias", True)
    _weights_count(imp, weights, 2 if bias else 1, "kernel, bias")
    w = {"weight": weights[0].T}
    if bias:
        w["bias"] = weights[1]
    if cfg.get("lora_rank"):
        raise imp.error("LoRA-adapted Dense layers have no Studio layer")
    out = imp.add("core.Linear", linear_params(cfg["units"], bias, len(imp.shape(x))), [x],
                  weights=w)
    return activation(imp, KValue(out), cfg.get("activation"), "_act")


def flatten(imp, cfg, ins, weights):
    x = imp.keras_layout(ins[0])
    if len(imp.shape(x)) == 1:
        return KValue(x)
    return KValue(imp.add("core.Flatten", {}, [x]))


def reshape(imp, cfg, ins, weights):
    x = imp.keras_layout(ins[0])
    return KValue(imp.add("core.Reshape", {"shape": list(cfg["target_shape"])}, [x]))


def permute(imp, cfg, ins, weights):
    x = imp.keras_layout(ins[0])
    return KValue(imp.add("core.Permute", {"dims": list(cfg["dims"])}, [x]))


def dropout(imp, cfg, ins, weights):
    if cfg.get("noise_shape") is not None:
        raise imp.error("dropout with a noise_shape has no Studio layer")
    rate = float(cfg.get("rate", 0.5))
    v = ins[0]
    return v if rate == 0 else KValue(imp.add("core.Dropout", {"p": rate}, [v.wire]), v.moved)


def activation_layer(imp, cfg, ins, weights):
    return activation(imp, ins[0], cfg.get("activation"))


def relu_layer(imp, cfg, ins, weights):
    v = ins[0]
    top, slope = cfg.get("max_value"), cfg.get("negative_slope", 0.0)
    if cfg.get("threshold", 0.0) or (slope and top is not None):
        raise imp.error("a ReLU with a threshold, or a slope and a cap, has no Studio layer")
    if top is not None:
        if float(top) != 6.0:
            raise imp.error(f"ReLU(max_value={top}): Studio has ReLU6 only")
        return KValue(imp.add("act.ReLU6", {}, [v.wire]), v.moved)
    if slope:
        return KValue(imp.add("act.LeakyReLU", {"negative_slope": float(slope)}, [v.wire]),
                      v.moved)
    return KValue(imp.add("act.ReLU", {}, [v.wire]), v.moved)


def leaky_relu_layer(imp, cfg, ins, weights):
    slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return KValue(imp.add("act.LeakyReLU", {"negative_slope": float(slope)}, [ins[0].wire]),
                  ins[0].moved)


def elu_layer(imp, cfg, ins, weights):
    return KValue(imp.add("act.ELU", {"alpha": float(cfg.get("alpha", 1.0))}, [ins[0].wire]),
                  ins[0].moved)


def softmax_layer(imp, cfg, ins, weights):
    axis = cfg.get("axis", -1)
    if axis not in (-1, [-1]):
        raise imp.error(f"Softmax over axis {axis}: Studio imports the last axis only")
    return activation(imp, ins[0], "softmax")


def embedding(imp, cfg, ins, weights):
    if cfg.get("mask_zero"):
        raise imp.error("mask_zero=True masks later layers; Studio has no masking")
    _weights_count(imp, weights, 1, "embeddings")
    table = weights[0]
    x = imp.keras_layout(ins[0])
    if imp.builder.type_of(x).dtype != "long":
        raise imp.error("the Embedding's input must be integer token ids")
    return KValue(imp.add("core.Embedding", {"num_embeddings": int(table.shape[0]),
                                             "embedding_dim": int(table.shape[1])}, [x],
                          weights={"weight": table}))


# -- convolution and pooling ---------------------------------------------------------------------

def _tuple(value, n: int) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * n


def same_pads(sizes, kernel, strides, dilation) -> tuple[list[int], list[int]]:
    """TensorFlow's 'same' padding: (begin, end) per axis, the extra one at the end."""
    begin, end = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        eff = (k - 1) * d + 1
        total = max((math.ceil(n / s) - 1) * s + eff - n, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin, end


def _pad(imp, wire, begin, end, mode: str = "constant"):
    return imp.add("core.Pad", {"pads": [p for pair in zip(begin, end) for p in pair],
                                "mode": mode}, [wire], suffix="_pad")


def _spatial_input(imp, cfg, v: KValue, dims: int):
    """The input channels-first (or as is for data_format='channels_first'), its shape."""
    if cfg.get("data_format", "channels_last") == "channels_first":
        wire = imp.keras_layout(v)
        return wire, imp.shape(wire), False
    wire = imp.channels_first(v)
    shape = imp.shape(wire)
    if len(shape) != dims + 1:
        raise imp.error(f"expected a {dims + 1}-D sample, received {shape}")
    return wire, shape, True


def conv(dims: int):
    def rule(imp, cfg, ins, weights):
        wire, shape, moved = _spatial_input(imp, cfg, ins[0], dims)
        kernel = _tuple(cfg["kernel_size"], dims)
        strides = _tuple(cfg.get("strides", 1), dims)
        dil = _tuple(cfg.get("dilation_rate", 1), dims)
        groups = int(cfg.get("groups", 1))
        padding = cfg.get("padding", "valid")
        begin = [0] * dims
        if padding == "same":
            begin, end = same_pads(shape[1:], kernel, strides, dil)
            if begin != end:
                wire, begin = _pad(imp, wire, begin, end), [0] * dims
        elif padding == "causal":
            wire = _pad(imp, wire, [(k - 1) * d for k, d in zip(kernel, dil)], [0] * dims)
        elif padding != "valid":
            raise imp.error(f"padding={padding!r} has no Studio equivalent")
        bias = cfg.get("use_bias", True)
        _weights_count(imp, weights, 2 if bias else 1, "kernel, bias")
        k = weights[0]  # (*kernel, in/groups, out) -> (out, in/groups, *kernel)
        w = {"weight": np.ascontiguousarray(k.transpose(dims + 1, dims, *range(dims)))}
        if bias:
            w["bias"] = weights[1]
        out = imp.add(f"conv.Conv{dims}d", {
            "out_channels": int(cfg["filters"]), "kernel_size": kernel, "stride": strides,
            "padding": begin, "dilation": dil, "groups": groups, "bias": bias}, [wire],
            weights=w)
        return activation(imp, KValue(out, moved), cfg.get("activation"), "_act")
    return rule


def conv2d_transpose(imp, cfg, ins, weights):
    wire, _, moved = _spatial_input(imp, cfg, ins[0], 2)
    kernel, strides = _tuple(cfg["kernel_size"], 2), _tuple(cfg.get("strides", 1), 2)
    dil = _tuple(cfg.get("dilation_rate", 1), 2)
    if dil != [1, 1]:
        raise imp.error("a dilated Conv2DTranspose has no Studio import")
    if cfg.get("output_padding") is not None:
        raise imp.error("output_padding on Conv2DTranspose has no Studio import")
    crop = [0, 0]  # extra cells TensorFlow's 'same' crops at the end only
    if cfg.get("padding", "valid") == "valid":
        pads = [0, 0]
        extra = [max(s - k, 0) for k, s in zip(kernel, strides)]
    else:  # 'same': the transposed conv's full output, begin = total // 2 cropped, rest at end
        total = [max(k - s, 0) for k, s in zip(kernel, strides)]
        pads = [t // 2 for t in total]
        crop = [t - 2 * (t // 2) for t in total]
        extra = [max(s - k, 0) for k, s in zip(kernel, strides)]
    bias = cfg.get("use_bias", True)
    _weights_count(imp, weights, 2 if bias else 1, "kernel, bias")
    k = weights[0]  # (kh, kw, out, in) -> (in, out, kh, kw)
    w = {"weight": np.ascontiguousarray(k.transpose(3, 2, 0, 1))}
    if bias:
        w["bias"] = weights[1]
    out = imp.add("conv.ConvTranspose2d", {
        "out_channels": int(cfg["filters"]), "kernel_size": kernel, "stride": strides,
        "padding": pads, "output_padding": extra, "bias": bias}, [wire], weights=w)
    if any(crop):
        _, h, w_ = imp.shape(out)
        out = imp.add("core.Slice", {"index": f":, :{h - crop[0]}, :{w_ - crop[1]}"}, [out],
                      suffix="_crop")
    return activation(imp, KValue(out, moved), cfg.get("activation"), "_act")


def pool(kind: str, dims: int):
    def rule(imp, cfg, ins, weights):
        wire, shape, moved = _spatial_input(imp, cfg, ins[0], dims)
        size = _tuple(cfg.get("pool_size", 2), dims)
        strides = _tuple(cfg.get("strides") or size, dims)
        if cfg.get("padding", "valid") == "same":
            begin, end = same_pads(shape[1:], size, strides, [1] * dims)
            if any(begin + end):
                if kind == "Avg":
                    raise imp.error("average pooling with padding='same' leaves the padding "
                                    "out of the mean; Studio's AvgPool counts it")
                wire = _pad(imp, wire, begin, end, "replicate")
        out = imp.add(f"pool.{kind}Pool{dims}d", {"kernel_size": size, "stride": strides},
                      [wire])
        return KValue(out, moved)
    return rule


def global_pool(kind: str):
    def rule(imp, cfg, ins, weights):
        if cfg.get("keepdims"):
            raise imp.error("global pooling with keepdims=True has no Studio import")
        wire = imp.channels_first(ins[0]) if cfg.get("data_format", "channels_last") == \
            "channels_last" else imp.keras_layout(ins[0])
        return KValue(imp.add(f"pool.Global{kind}Pool", {}, [wire]))
    return rule


def zero_padding(dims: int):
    def rule(imp, cfg, ins, weights):
        wire, _, moved = _spatial_input(imp, cfg, ins[0], dims)
        pad = cfg.get("padding", 1)
        if isinstance(pad, int):
            pairs = [(pad, pad)] * dims
        else:
            pairs = [tuple(p) if isinstance(p, (list, tuple)) else (p, p) for p in pad]
        flat = [int(v) for pair in pairs for v in pair]
        return KValue(imp.add("core.Pad", {"pads": flat}, [wire]), moved)
    return rule


def upsampling(dims: int):
    def rule(imp, cfg, ins, weights):
        wire, _, moved = _spatial_input(imp, cfg, ins[0], dims)
        size = _tuple(cfg.get("size", 2), dims)
        if len(set(size)) != 1:
            raise imp.error(f"size={size}: Studio's Upsample scales every axis alike")
        mode = cfg.get("interpolation", "nearest")
        if mode not in ("nearest", "bilinear"):
            raise imp.error(f"interpolation={mode!r} has no Studio layer")
        if mode == "bilinear" and dims != 2:
            raise imp.error("bilinear 1-D upsampling has no Studio layer")
        return KValue(imp.add("pool.Upsample", {"scale_factor": float(size[0]), "mode": mode},
                              [wire]), moved)
    return rule


# -- normalization -----------------------------------------------------------------------------

def batchnorm(imp, cfg, ins, weights):
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    v = ins[0]
    rank = len(imp.shape(v.wire))
    if axis not in (-1, rank):
        raise imp.error(f"batch normalization over axis {axis}: Studio imports the channel "
                        "(last) axis only")
    if rank == 1:
        wire, moved, spec = v.wire, v.moved, "norm.BatchNorm1d"
    elif rank in (2, 3):
        wire, moved = imp.channels_first(v), True
        spec = "norm.BatchNorm1d" if rank == 2 else "norm.BatchNorm2d"
    else:
        raise imp.error(f"batch normalization of {rank}-D samples has no Studio layer")
    arrays = list(weights)
    c = imp.shape(wire)[0]
    gamma = arrays.pop(0) if cfg.get("scale", True) else np.ones(c, np.float32)
    beta = arrays.pop(0) if cfg.get("center", True) else np.zeros(c, np.float32)
    if len(arrays) != 2:
        raise imp.error("the moving mean and variance are missing from the file")
    w = {"weight": gamma, "bias": beta, "running_mean": arrays[0], "running_var": arrays[1]}
    out = imp.add(spec, {"eps": float(cfg.get("epsilon", 1e-3)),
                         "momentum": round(1.0 - float(cfg.get("momentum", 0.99)), 6)},
                  [wire], weights=w)
    return KValue(out, moved)


def layernorm(imp, cfg, ins, weights):
    if cfg.get("rms_scaling"):
        raise imp.error("rms_scaling=True has no Studio layer")
    x = imp.keras_layout(ins[0])
    rank = len(imp.shape(x))
    axis = cfg.get("axis", -1)
    axes = sorted(a % (rank + 1) for a in (axis if isinstance(axis, list) else [axis]))
    if axes != list(range(rank + 1 - len(axes), rank + 1)):
        raise imp.error(f"layer normalization over axes {axis}: Studio normalizes the last "
                        "axes")
    arrays = list(weights)
    shape = imp.shape(x)[rank - len(axes):]
    gamma = arrays.pop(0) if cfg.get("scale", True) else np.ones(shape, np.float32)
    beta = arrays.pop(0) if cfg.get("center", True) else np.zeros(shape, np.float32)
    out = imp.add("norm.LayerNorm", {"normalized_dims": len(axes),
                                     "eps": float(cfg.get("epsilon", 1e-3))}, [x],
                  weights={"weight": gamma.reshape(shape), "bias": beta.reshape(shape)})
    return KValue(out)


# -- merging -------------------------------------------------------------------------------------

def merge(spec: str):
    def rule(imp, cfg, ins, weights):
        moved = all(v.moved for v in ins)
        wires = [v.wire if moved else imp.keras_layout(v) for v in ins]
        params = {} if spec in ("merge.Subtract",) else {"inputs": len(wires)}
        return KValue(imp.add(spec, params, wires), moved)
    return rule


def concatenate(imp, cfg, ins, weights):
    axis = int(cfg.get("axis", -1))
    rank = len(imp.shape(ins[0].wire))
    if axis in (-1, rank) and all(v.moved for v in ins) and rank >= 2:
        return KValue(imp.add("merge.Concatenate", {"inputs": len(ins), "axis": 1},
                              [v.wire for v in ins]), True)
    wires = [imp.keras_layout(v) for v in ins]
    if axis == 0:
        raise imp.error("concatenating along the batch axis has no Studio layer")
    return KValue(imp.add("merge.Concatenate", {"inputs": len(ins), "axis": axis}, wires))


def input_layer(imp, cfg, ins, weights):
    return ins[0]


RULES = {
    "InputLayer": input_layer, "Dense": dense, "Flatten": flatten, "Reshape": reshape,
    "Permute": permute, "Dropout": dropout, "Activation": activation_layer,
    "ReLU": relu_layer, "LeakyReLU": leaky_relu_layer, "ELU": elu_layer,
    "Softmax": softmax_layer, "Embedding": embedding,
    "Conv1D": conv(1), "Conv2D": conv(2), "Conv3D": conv(3), "Convolution1D": conv(1),
    "Convolution2D": conv(2), "Convolution3D": conv(3),
    "Conv2DTranspose": conv2d_transpose, "Convolution2DTranspose": conv2d_transpose,
    "MaxPooling1D": pool("Max", 1), "MaxPooling2D": pool("Max", 2),
    "AveragePooling1D": pool("Avg", 1), "AveragePooling2D": pool("Avg", 2),
    "MaxPool1D": pool("Max", 1), "MaxPool2D": pool("Max", 2),
    "AvgPool1D": pool("Avg", 1), "AvgPool2D": pool("Avg", 2),
    "GlobalAveragePooling1D": global_pool("Avg"), "GlobalAveragePooling2D": global_pool("Avg"),
    "GlobalMaxPooling1D": global_pool("Max"), "GlobalMaxPooling2D": global_pool("Max"),
    "GlobalAvgPool1D": global_pool("Avg"), "GlobalAvgPool2D": global_pool("Avg"),
    "GlobalMaxPool1D": global_pool("Max"), "GlobalMaxPool2D": global_pool("Max"),
    "ZeroPadding1D": zero_padding(1), "ZeroPadding2D": zero_padding(2),
    "UpSampling1D": upsampling(1), "UpSampling2D": upsampling(2),
    "BatchNormalization": batchnorm, "LayerNormalization": layernorm,
    "Add": merge("merge.Add"), "Multiply": merge("merge.Multiply"),
    "Average": merge("merge.Average"), "Maximum": merge("merge.Maximum"),
    "Subtract": merge("merge.Subtract"), "Concatenate": concatenate,
}


def _register_recurrent() -> None:
    from .keras_recurrent import RECURRENT_RULES

    RULES.update(RECURRENT_RULES)


_register_recurrent()
