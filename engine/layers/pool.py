"""Pooling layers (MaxPool2d only so far; the rest are being written)."""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ShapeError, TensorType, expand, register
from .conv import conv_out


@register
class MaxPool2d(LayerSpec):
    id = "pool.MaxPool2d"
    name = "MaxPool2d"
    category = "Pooling"
    doc = "Takes the maximum over each window."
    params = (Param("kernel_size", "ints", 2, "Window size.", min=1, length=2),
              Param("stride", "ints", 0, "Step (0 = same as kernel_size).", min=0, length=2),
              Param("padding", "ints", 0, "Padding per side.", min=0, length=2))

    def infer(self, p, ins):
        x = ins[0]
        if x.rank != 3:
            raise ShapeError(f"expected input (N, C, H, W), received {x}", "in")
        k = expand(p["kernel_size"], 2)
        s = tuple(si or ki for si, ki in zip(expand(p["stride"], 2), k))
        pd = expand(p["padding"], 2)
        hw = [conv_out(n, ki, si, pi, 1) for n, ki, si, pi in zip(x.shape[1:], k, s, pd)]
        if min(hw) < 1:
            raise ShapeError(f"window {k} is larger than the input {x}", "in")
        return [TensorType((x.shape[0], *hw))]

    def module(self, p, ins):
        k = expand(p["kernel_size"], 2)
        s = tuple(si or ki for si, ki in zip(expand(p["stride"], 2), k))
        return f"nn.MaxPool2d(kernel_size={k}, stride={s}, padding={tuple(expand(p['padding'], 2))})"
