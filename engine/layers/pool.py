"""Pooling: Max/Avg pooling (1-D, 2-D), adaptive average and max pooling, global pooling,
Upsample."""
from __future__ import annotations

import math

from .base import (Explanation, LayerSpec, Param, ParamError, ShapeError, TensorType, expand,
                   register)
from .emit import call

_AXES = {1: ["L"], 2: ["H", "W"]}
_RANK_SHAPES = {2: "(N, C, L)", 3: "(N, C, H, W)", 4: "(N, C, D, H, W)"}


def _require(spec: LayerSpec, x: TensorType, dims: int) -> None:
    spec.require_float(x)
    if x.rank != dims + 1:
        want = ", ".join(["C", *_AXES[dims]])
        hint = " Add a Reshape to (C, ...) first." if x.rank < dims + 1 else ""
        raise ShapeError(f"expected input (N, {want}), received {x}.{hint}", "in")


def pool_out(size: int, k: int, s: int, pad: int, ceil_mode: bool) -> int:
    """Output length of a pooling window over `size` (torch's rule: with ceil_mode a last
    window must start inside the input or its left padding)."""
    span = size + 2 * pad - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + pad:
        out -= 1
    return out


class _Pool(LayerSpec):
    """Windowed pooling; stride 0 means 'same as kernel_size' (the torch default)."""

    category = "Pooling"
    dims = 2
    kind = "Max"

    @classmethod
    def _params(cls, dims: int) -> tuple[Param, ...]:
        return (
            Param("kernel_size", "ints", 2, "Window size: one int or one per spatial axis.",
                  min=1, max=1024, length=dims),
            Param("stride", "ints", 0, "Step between windows; 0 = same as kernel_size "
                  "(non-overlapping windows).", min=0, max=1024, length=dims),
            Param("padding", "ints", 0, "Implicit padding per side (at most half the window); "
                  "max pooling pads with −∞, average pooling with zeros.", min=0, max=512,
                  length=dims),
            Param("ceil_mode", "bool", False, "Round the output size up, so a last, partial "
                  "window is pooled too (floor otherwise)."),
        )

    @classmethod
    def _avg_params(cls, dims: int) -> tuple[Param, ...]:
        return cls._params(dims) + (
            Param("count_include_pad", "bool", True, "Divide by the whole window, padding "
                  "included (off: by the input cells the window covers)."),)

    def _kernel(self, p):
        return expand(p["kernel_size"], self.dims)

    def _stride(self, p):
        return tuple(s or k for s, k in zip(expand(p["stride"], self.dims), self._kernel(p)))

    def shown_params(self, p):
        stride = self._stride(p)
        return {**p, "stride": stride[0] if len(set(stride)) == 1 else list(stride)}

    def check_params(self, p):
        for k, pad in zip(self._kernel(p), expand(p["padding"], self.dims)):
            if pad > k // 2:
                raise ParamError("padding must be at most half of kernel_size. "
                                 f"Received: padding={p['padding']}")

    def infer(self, p, ins):
        x = ins[0]
        _require(self, x, self.dims)
        k, s, pads = self._kernel(p), self._stride(p), expand(p["padding"], self.dims)
        sizes = [pool_out(n, ki, si, pi, p["ceil_mode"])
                 for n, ki, si, pi in zip(x.shape[1:], k, s, pads)]
        if min(sizes) < 1:
            raise ShapeError(f"kernel_size={p['kernel_size']} is larger than the (padded) "
                             f"input {x}", "in")
        return [TensorType((x.shape[0], *sizes))]

    def flops(self, p, ins, outs):
        return outs[0].numel * math.prod(self._kernel(p))

    def explain(self, p, ins, outs):
        k, s, pads = self._kernel(p), self._stride(p), expand(p["padding"], self.dims)
        e = Explanation()
        for i, axis in enumerate(_AXES[self.dims]):
            n, out = ins[0].shape[1 + i], outs[0].shape[1 + i]
            rnd = "ceil" if p["ceil_mode"] else "floor"
            e.shape.append(f"{axis}_out = {rnd}(({n} + 2·{pads[i]} - {k[i]})/{s[i]}) + 1 = {out}")
        e.shape.append(f"channels unchanged = {ins[0].shape[0]}")
        e.params.append("params = 0 (pooling has no weights)")
        return e

    def module(self, p, ins):
        k = self._kernel(p)
        return call(f"nn.{self.kind}Pool{self.dims}d", [k],
                    [("stride", self._stride(p), k), ("padding", p["padding"], 0),
                     ("ceil_mode", p["ceil_mode"], False),
                     ("count_include_pad", p.get("count_include_pad", True), True)])


@register
class MaxPool1d(_Pool):
    id = "pool.MaxPool1d"
    name = "MaxPool1d"
    dims = 1
    doc = "Maximum over each window of a (C, L) sequence."
    formula = "y[c, i] = max_{0≤j<k} x[c, s·i + j − p]"
    params = _Pool._params(1)


@register
class MaxPool2d(_Pool):
    id = "pool.MaxPool2d"
    name = "MaxPool2d"
    dims = 2
    doc = "Maximum over each window of a (C, H, W) image: downsamples, keeps strong responses."
    formula = "y[c, i, j] = max_{a<kH, b<kW} x[c, s·i + a − p, s·j + b − p]"
    params = _Pool._params(2)


@register
class AvgPool1d(_Pool):
    id = "pool.AvgPool1d"
    name = "AvgPool1d"
    kind = "Avg"
    dims = 1
    doc = "Mean over each window of a (C, L) sequence."
    formula = "y[c, i] = (1/k)·Σ_{0≤j<k} x[c, s·i + j − p]"
    params = _Pool._avg_params(1)


@register
class AvgPool2d(_Pool):
    id = "pool.AvgPool2d"
    name = "AvgPool2d"
    kind = "Avg"
    dims = 2
    doc = "Mean over each window of a (C, H, W) image."
    formula = "y[c, i, j] = (1/(kH·kW))·Σ_{a,b} x[c, s·i + a − p, s·j + b − p]"
    params = _Pool._avg_params(2)


class _Adaptive(LayerSpec):
    category = "Pooling"
    dims = 2
    kind = "Avg"

    def infer(self, p, ins):
        _require(self, ins[0], self.dims)
        return [TensorType((ins[0].shape[0], *expand(p["output_size"], self.dims)))]

    def explain(self, p, ins, outs):
        e = Explanation()
        for i, axis in enumerate(_AXES[self.dims]):
            n, out = ins[0].shape[1 + i], outs[0].shape[1 + i]
            e.shape.append(f"{axis}: {n} → {out} (window i spans floor(i·{n}/{out}) … "
                           f"ceil((i+1)·{n}/{out}))")
        e.shape.append(f"output {outs[0]} whatever the input size")
        e.params.append("params = 0")
        return e

    def module(self, p, ins):
        return call(f"nn.Adaptive{self.kind}Pool{self.dims}d",
                    [expand(p["output_size"], self.dims)])


@register
class AdaptiveAvgPool1d(_Adaptive):
    id = "pool.AdaptiveAvgPool1d"
    name = "AdaptiveAvgPool1d"
    dims = 1
    doc = "Averages a (C, L) sequence down to a fixed length, whatever L is."
    formula = "y[c, i] = mean of x[c, floor(i·L/out) : ceil((i+1)·L/out)]"
    params = (Param("output_size", "ints", 1, "Output length.", min=1, max=100_000,
                    length=1),)


@register
class AdaptiveAvgPool2d(_Adaptive):
    id = "pool.AdaptiveAvgPool2d"
    name = "AdaptiveAvgPool2d"
    dims = 2
    doc = "Averages a (C, H, W) image down to a fixed size (ResNet uses 1×1 before the classifier)."
    formula = "y[c, i, j] = mean of x[c] over window (i, j) of an out_H × out_W grid"
    params = (Param("output_size", "ints", 1, "Output height and width: one int or two.",
                    min=1, max=100_000, length=2),)


@register
class AdaptiveMaxPool1d(_Adaptive):
    id = "pool.AdaptiveMaxPool1d"
    name = "AdaptiveMaxPool1d"
    dims = 1
    kind = "Max"
    doc = "Maximum of a (C, L) sequence over a fixed number of windows, whatever L is."
    formula = "y[c, i] = max of x[c, floor(i·L/out) : ceil((i+1)·L/out)]"
    params = AdaptiveAvgPool1d.params


@register
class AdaptiveMaxPool2d(_Adaptive):
    id = "pool.AdaptiveMaxPool2d"
    name = "AdaptiveMaxPool2d"
    dims = 2
    kind = "Max"
    doc = "Maximum of a (C, H, W) image over a fixed grid of windows, whatever H and W are."
    formula = "y[c, i, j] = max of x[c] over window (i, j) of an out_H × out_W grid"
    params = AdaptiveAvgPool2d.params


class _Global(LayerSpec):
    category = "Pooling"
    reduce = "mean"

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        if x.rank < 2:
            raise ShapeError(f"expected input (N, C, ...) with at least one spatial axis, "
                             f"received {x}", "in")
        return [TensorType((x.shape[0],))]

    def flops(self, p, ins, outs):
        return ins[0].numel

    def explain(self, p, ins, outs):
        spatial = "·".join(map(str, ins[0].shape[1:]))
        return Explanation([f"{self.reduce} over {spatial} = {math.prod(ins[0].shape[1:])} "
                            f"positions per channel → output {outs[0]}"], ["params = 0"])

    def forward(self, p, attr, args, outs):
        op = "mean" if self.reduce == "mean" else "amax"
        return [f"{outs[0]} = {args[0]}.flatten(2).{op}(dim=2)"]


@register
class GlobalAvgPool(_Global):
    id = "pool.GlobalAvgPool"
    name = "GlobalAvgPool"
    doc = "Mean of each channel over all spatial positions: (N, C, ...) → (N, C)."
    formula = "y[c] = (1/|Ω|)·Σ_{u∈Ω} x[c, u]"
    reduce = "mean"


@register
class GlobalMaxPool(_Global):
    id = "pool.GlobalMaxPool"
    name = "GlobalMaxPool"
    doc = "Maximum of each channel over all spatial positions: (N, C, ...) → (N, C)."
    formula = "y[c] = max_{u∈Ω} x[c, u]"
    reduce = "max"


@register
class Upsample(LayerSpec):
    id = "pool.Upsample"
    name = "Upsample"
    category = "Pooling"
    doc = "Enlarges (C, L) or (C, H, W) inputs by a scale factor (nearest, linear or bilinear)."
    formula = "size_out = floor(size_in · scale_factor)"
    params = (
        Param("scale_factor", "float", 2.0, "Multiplier for every spatial size (2 doubles "
              "height and width).", min=0.01, max=64.0),
        Param("mode", "choice", "nearest", "nearest copies pixels; linear (for (C, L)) and "
              "bilinear (for (C, H, W)) interpolate.", choices=("nearest", "linear",
                                                                 "bilinear")),
    )

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        want = {"linear": (2,), "bilinear": (3,)}.get(p["mode"], (2, 3, 4))
        if x.rank not in want:
            shapes = " or ".join(_RANK_SHAPES[r] for r in want)
            raise ShapeError(f"mode {p['mode']!r} expects input {shapes}, received {x}", "in")
        sizes = [math.floor(n * p["scale_factor"]) for n in x.shape[1:]]
        if min(sizes) < 1:
            raise ShapeError(f"scale_factor={p['scale_factor']} shrinks {x} to nothing", "in")
        return [TensorType((x.shape[0], *sizes))]

    def explain(self, p, ins, outs):
        s = p["scale_factor"]
        parts = [f"floor({n}·{s:g}) = {o}" for n, o in zip(ins[0].shape[1:], outs[0].shape[1:])]
        return Explanation([f"spatial sizes: {', '.join(parts)}", f"output {outs[0]}"],
                           ["params = 0"])

    def module(self, p, ins):
        scale = p["scale_factor"]
        scale = int(scale) if scale.is_integer() else scale  # reads as scale_factor=2
        return call("nn.Upsample", [], [("scale_factor", scale, None),
                                        ("mode", p["mode"], "nearest")])
