"""Pad: grow the trailing axes of each sample with zeros, a constant, reflections or edge
copies (ONNX Pad, asymmetric 'same' padding, Keras ZeroPadding)."""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ParamError, ShapeError, TensorType, register

_MODES = ("constant", "reflect", "replicate", "circular")


def _pads(p) -> list[int]:
    return p["pads"] if isinstance(p["pads"], list) else [p["pads"]] * 2


@register
class Pad(LayerSpec):
    id = "core.Pad"
    name = "Pad"
    category = "Core"
    doc = "Pads the last axes of each sample: zeros or a constant, reflections or edge copies."
    formula = "y = x surrounded by pads (before, after) on each of the last axes"
    params = (
        Param("pads", "ints", [1, 1, 1, 1], "Before and after each padded axis, for the last "
              "len/2 axes, outer axis first: [top, bottom, left, right] pads H and W of an "
              "image (C, H, W).", min=0, max=100_000),
        Param("mode", "choice", "constant", "constant: the value below; reflect: mirror "
              "without the edge; replicate: copy the edge; circular: wrap around.",
              choices=_MODES),
        Param("value", "float", 0.0, "The fill value of constant padding.", min=-1e30,
              max=1e30),
    )

    def check_params(self, p):
        pads = _pads(p)
        if len(pads) % 2 or not pads:
            raise ParamError(f"pads must hold a (before, after) pair per axis. Received: "
                             f"pads={p['pads']}")

    def infer(self, p, ins):
        x = ins[0]
        pads = _pads(p)
        n = len(pads) // 2
        if n > x.rank:
            raise ShapeError(f"pads {pads} pad {n} axes but {x} has {x.rank}", "in")
        if p["mode"] != "constant":
            self.require_float(x)
            if n > 3 or n >= x.rank + (1 if x.rank == 1 else 0) and x.rank > 1:
                raise ShapeError(f"{p['mode']} padding pads at most 3 axes after the channels; "
                                 f"{x} with pads {pads}", "in")
        lead = x.shape[:x.rank - n]
        out = list(lead)
        for i, size in enumerate(x.shape[x.rank - n:]):
            before, after = pads[2 * i], pads[2 * i + 1]
            if p["mode"] == "reflect" and max(before, after) >= size:
                raise ShapeError(f"reflect padding by {max(before, after)} needs axes longer "
                                 f"than that; {x} has {size}", "in")
            if p["mode"] == "circular" and max(before, after) > size:
                raise ShapeError(f"circular padding by {max(before, after)} exceeds {size}",
                                 "in")
            out.append(size + before + after)
        return [TensorType(tuple(out), x.dtype)]

    def explain(self, p, ins, outs):
        pads = _pads(p)
        n = len(pads) // 2
        parts = [f"{a} + {pads[2 * i]} + {pads[2 * i + 1]} = {b}" for i, (a, b) in
                 enumerate(zip(ins[0].shape[-n:], outs[0].shape[-n:]))]
        return Explanation([f"padded sizes: {', '.join(parts)}", f"output {outs[0]}"],
                           ["params = 0"])

    def forward(self, p, attr, args, outs):
        pads = _pads(p)
        pairs = [pads[i:i + 2] for i in range(0, len(pads), 2)][::-1]  # F.pad: last axis first
        flat = ", ".join(str(v) for pair in pairs for v in pair)
        extra = ""
        if p["mode"] != "constant":
            extra = f", mode={p['mode']!r}"
        elif p["value"]:
            extra = f", value={p['value']!r}"
        return [f"{outs[0]} = F.pad({args[0]}, ({flat},){extra})"]
