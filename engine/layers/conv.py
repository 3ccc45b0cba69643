"""Convolutions: Conv1d, Conv2d, Conv3d, ConvTranspose2d."""
from __future__ import annotations

import math

from .base import (Explanation, LayerSpec, Param, ParamError, ShapeError, TensorType, expand,
                   register)
from .emit import ALWAYS, call
from .reparam import WEIGHT_NORM, explain as reparam_explain, extra_params, wrap

_AXES = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def conv_out(size: int, k: int, s: int, pad: int, d: int) -> int:
    return (size + 2 * pad - d * (k - 1) - 1) // s + 1


class _ConvBase(LayerSpec):
    category = "Convolution"
    dims = 2
    transposed = False

    @classmethod
    def _params(cls, dims: int, transposed: bool = False) -> tuple[Param, ...]:
        pad_choices = () if transposed else ("same", "valid")
        ps = [
            Param("out_channels", "int", 16, "Number of filters (output channels).",
                  min=1, max=100_000),
            Param("kernel_size", "ints", 3, "Filter size: one int or one per spatial axis.",
                  min=1, max=1024, length=dims),
            Param("stride", "ints", 1, "Step between filter positions.", min=1, max=1024,
                  length=dims),
            Param("padding", "ints", 0,
                  "Zero padding per side; 'same' keeps the size (stride 1), 'valid' = 0.",
                  min=0, max=1024, length=dims, choices=pad_choices),
        ]
        if transposed:
            ps.append(Param("output_padding", "ints", 0, "Extra size added to one side of "
                            "the output.", min=0, max=1024, length=dims))
        ps += [
            Param("dilation", "ints", 1, "Spacing between filter taps.", min=1, max=1024,
                  length=dims),
            Param("groups", "int", 1, "Split channels into groups convolved separately.",
                  min=1, max=100_000),
            Param("bias", "bool", True, "Learn one bias per filter."),
            WEIGHT_NORM,
        ]
        return tuple(ps)

    def check_params(self, p):
        if p["padding"] == "same" and any(s != 1 for s in expand(p["stride"], self.dims)):
            raise ParamError(f"padding='same' needs stride 1. Received: stride={p['stride']}")
        if self.transposed:
            for o, s, d in zip(expand(p["output_padding"], self.dims),
                               expand(p["stride"], self.dims), expand(p["dilation"], self.dims)):
                if o >= max(s, d):
                    raise ParamError("output_padding must be smaller than stride or dilation. "
                                     f"Received: output_padding={p['output_padding']}")

    def _pads(self, p) -> tuple[int, ...]:
        if p["padding"] == "valid":
            return (0,) * self.dims
        if p["padding"] == "same":
            k, d = expand(p["kernel_size"], self.dims), expand(p["dilation"], self.dims)
            return tuple(di * (ki - 1) // 2 for ki, di in zip(k, d))
        return expand(p["padding"], self.dims)

    def _in_channels(self, x: TensorType) -> int:
        self.require_float(x)
        if x.rank != self.dims + 1:
            axes = ", ".join(["C", *_AXES[self.dims]])
            hint = " Add a Reshape to (C, ...) first." if x.rank < self.dims + 1 else ""
            raise ShapeError(f"expected input (N, {axes}), received {x}.{hint}", "in")
        return x.shape[0]

    def _spatial(self, p, x: TensorType) -> list[int]:
        k, s = expand(p["kernel_size"], self.dims), expand(p["stride"], self.dims)
        d, pads = expand(p["dilation"], self.dims), self._pads(p)
        if self.transposed:
            op = expand(p["output_padding"], self.dims)
            return [(n - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
                    for n, ki, si, pi, di, oi in zip(x.shape[1:], k, s, pads, d, op)]
        return [conv_out(n, ki, si, pi, di)
                for n, ki, si, pi, di in zip(x.shape[1:], k, s, pads, d)]

    def infer(self, p, ins):
        c = self._in_channels(ins[0])
        o, g = p["out_channels"], p["groups"]
        if c % g or o % g:
            raise ShapeError(f"groups={g} must divide in_channels={c} and out_channels={o}", "in")
        if p["padding"] == "same" and any(
                (di * (ki - 1)) % 2 for ki, di in zip(expand(p["kernel_size"], self.dims),
                                                      expand(p["dilation"], self.dims))):
            raise ShapeError("padding='same' needs an odd effective kernel size here", "in")
        spatial = self._spatial(p, ins[0])
        if any(n < 1 for n in spatial):
            raise ShapeError(self._too_large(p, ins[0], spatial), "in")
        return [TensorType((o, *spatial))]

    def _too_large(self, p, x: TensorType, spatial: list[int]) -> str:
        """'kernel_size=11 does not fit: expected a (padded) input of at least 11×11,
        received N×1×8×8 (10×10 with padding 1); output size would be 0×0'."""
        k = p["kernel_size"]
        if self.transposed:
            return f"kernel_size={k} is larger than the padded input {x}: output size " \
                   f"would be {spatial}"
        span = [di * (ki - 1) + 1 for ki, di in zip(expand(k, self.dims),
                                                    expand(p["dilation"], self.dims))]
        pads = self._pads(p)
        padded = [n + 2 * pi for n, pi in zip(x.shape[1:], pads)]
        size = lambda v: "×".join(str(max(int(i), 0)) for i in v)  # noqa: E731
        pad = p["padding"] if isinstance(p["padding"], (int, str)) else size(pads)
        return (f"kernel_size={k} does not fit: expected a (padded) input of at least "
                f"{size(span)}, received {x} ({size(padded)} with padding {pad}); output "
                f"size would be {size(spatial)}")

    def param_count(self, p, ins):
        c = ins[0].shape[0]
        k = math.prod(expand(p["kernel_size"], self.dims))
        o = p["out_channels"]
        return o * (c // p["groups"]) * k + (o if p["bias"] else 0) + \
            extra_params(p["weight_norm"], self._norm_units(p))

    def _norm_units(self, p) -> int:
        """Output units of the weight tensor: its dim 0 (transposed: dim 1, out/groups)."""
        return p["out_channels"] // p["groups"] if self.transposed else p["out_channels"]

    def flops(self, p, ins, outs):
        c = ins[0].shape[0]
        k = math.prod(expand(p["kernel_size"], self.dims))
        return outs[0].numel * (c // p["groups"]) * k

    def explain(self, p, ins, outs):
        x = ins[0]
        k, s = expand(p["kernel_size"], self.dims), expand(p["stride"], self.dims)
        d, pads = expand(p["dilation"], self.dims), self._pads(p)
        e = Explanation()
        for i, axis in enumerate(_AXES[self.dims]):
            n, out = x.shape[1 + i], outs[0].shape[1 + i]
            if self.transposed:
                op = expand(p["output_padding"], self.dims)[i]
                e.shape.append(f"{axis}_out = ({n} - 1)·{s[i]} - 2·{pads[i]} + {d[i]}·({k[i]} - 1)"
                               f" + {op} + 1 = {out}")
            else:
                e.shape.append(f"{axis}_out = floor(({n} + 2·{pads[i]} - {d[i]}·({k[i]} - 1) - 1)"
                               f"/{s[i]}) + 1 = {out}")
        e.shape.append(f"channels = out_channels = {p['out_channels']}")
        c, g, o = x.shape[0], p["groups"], p["out_channels"]
        kk = "·".join(map(str, k))
        b = f" + {o}" if p["bias"] else ""
        e.params.append(f"params = out·(in/groups)·kernel{' + out' if p['bias'] else ''} = "
                        f"{o}·({c}/{g})·{kk}{b} = {self.param_count(p, ins)}")
        e.params += reparam_explain(p["weight_norm"], self._norm_units(p))
        return e

    def module(self, p, ins):
        cls = f"ConvTranspose{self.dims}d" if self.transposed else f"Conv{self.dims}d"
        n = self.dims
        kw = [("kernel_size", expand(p["kernel_size"], n), ALWAYS),
              ("stride", expand(p["stride"], n), 1)]
        pad = p["padding"]
        kw.append(("padding", pad if isinstance(pad, str) else expand(pad, n), 0))
        if self.transposed:
            kw.append(("output_padding", expand(p["output_padding"], n), 0))
        kw += [("dilation", expand(p["dilation"], n), 1), ("groups", p["groups"], 1),
               ("bias", p["bias"], True)]
        return wrap(call(f"nn.{cls}", [ins[0].shape[0], p["out_channels"]], kw),
                    p["weight_norm"], 1 if self.transposed else 0)


_CONV_FORMULA = "y[o] = b[o] + Σ_c Σ_k W[o, c, k] · x[c, s·i + d·k − p]"


@register
class Conv1d(_ConvBase):
    id = "conv.Conv1d"
    name = "Conv1d"
    dims = 1
    doc = "1-D convolution over (C, L) sequences."
    formula = _CONV_FORMULA
    params = _ConvBase._params(1)


@register
class Conv2d(_ConvBase):
    id = "conv.Conv2d"
    name = "Conv2d"
    dims = 2
    doc = "2-D convolution over (C, H, W) images."
    formula = _CONV_FORMULA
    params = _ConvBase._params(2)


@register
class Conv3d(_ConvBase):
    id = "conv.Conv3d"
    name = "Conv3d"
    dims = 3
    doc = "3-D convolution over (C, D, H, W) volumes."
    formula = _CONV_FORMULA
    params = _ConvBase._params(3)


@register
class ConvTranspose2d(_ConvBase):
    id = "conv.ConvTranspose2d"
    name = "ConvTranspose2d"
    dims = 2
    transposed = True
    doc = "Transposed 2-D convolution (learned upsampling), as in decoders."
    formula = "the gradient of Conv2d with respect to its input: spreads each input value"
    params = _ConvBase._params(2, transposed=True)

    def param_count(self, p, ins):
        c = ins[0].shape[0]
        k = math.prod(expand(p["kernel_size"], 2))
        return c * (p["out_channels"] // p["groups"]) * k + \
            (p["out_channels"] if p["bias"] else 0) + \
            extra_params(p["weight_norm"], self._norm_units(p))
