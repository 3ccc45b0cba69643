"""Element-wise activations (shape-preserving, no parameters)."""
from __future__ import annotations

from .base import LayerSpec, Param, ShapeError, register


def _kw(name: str, value: float, default: float) -> str:
    """`name=value`, or nothing when value is torch's default (so the code reads naturally)."""
    return "" if value == default else f"{name}={value!r}"


class _Activation(LayerSpec):
    category = "Activation"
    torch_name = ""

    def infer(self, p, ins):
        self.require_float(ins[0])
        return [ins[0]]

    def ctor_args(self, p) -> str:
        return ""

    def module(self, p, ins):
        return f"nn.{self.torch_name}({self.ctor_args(p)})"


def _simple(cls_name: str, torch_name: str, doc: str, formula: str) -> type[_Activation]:
    cls = type(cls_name, (_Activation,), {
        "id": f"act.{cls_name}", "name": cls_name, "torch_name": torch_name,
        "doc": doc, "formula": formula})
    return register(cls)


ReLU = _simple("ReLU", "ReLU", "Rectified linear unit.", "f(x) = max(0, x)")
GELU = _simple("GELU", "GELU", "Gaussian error linear unit.", "f(x) = x·Φ(x)")
SiLU = _simple("SiLU", "SiLU", "Sigmoid-weighted linear unit (swish).", "f(x) = x·σ(x)")
Sigmoid = _simple("Sigmoid", "Sigmoid", "Logistic sigmoid, squashes to (0, 1).",
                  "σ(x) = 1 / (1 + e^(−x))")
Tanh = _simple("Tanh", "Tanh", "Hyperbolic tangent, squashes to (−1, 1).",
               "tanh(x) = (eˣ − e^(−x)) / (eˣ + e^(−x))")
ReLU6 = _simple("ReLU6", "ReLU6", "ReLU capped at 6 (MobileNet).", "f(x) = min(max(0, x), 6)")
Hardswish = _simple("Hardswish", "Hardswish", "Cheap approximation of SiLU/swish "
                    "(MobileNetV3).", "f(x) = x · min(max(x + 3, 0), 6) / 6")
Hardsigmoid = _simple("Hardsigmoid", "Hardsigmoid", "Piecewise-linear sigmoid (MobileNetV3 "
                      "squeeze-and-excitation gates).", "f(x) = min(max(x + 3, 0), 6) / 6")
Mish = _simple("Mish", "Mish", "Smooth self-gated activation.", "f(x) = x · tanh(softplus(x))")


@register
class LeakyReLU(_Activation):
    id = "act.LeakyReLU"
    name = "LeakyReLU"
    torch_name = "LeakyReLU"
    doc = "ReLU with a small slope for negative inputs."
    formula = "f(x) = x if x > 0 else α·x"
    params = (Param("negative_slope", "float", 0.01, "Slope α for x < 0.", min=0.0, max=1.0),)

    def ctor_args(self, p):
        return _kw("negative_slope", p["negative_slope"], 0.01)


@register
class ELU(_Activation):
    id = "act.ELU"
    name = "ELU"
    torch_name = "ELU"
    doc = "Exponential linear unit."
    formula = "f(x) = x if x > 0 else α·(eˣ − 1)"
    params = (Param("alpha", "float", 1.0, "Saturation value α for negative inputs.", min=0.0),)

    def ctor_args(self, p):
        return _kw("alpha", p["alpha"], 1.0)


@register
class Softplus(_Activation):
    id = "act.Softplus"
    name = "Softplus"
    torch_name = "Softplus"
    doc = "Smooth approximation of ReLU."
    formula = "f(x) = (1/β)·log(1 + e^(β·x))"
    params = (Param("beta", "float", 1.0, "Sharpness β.", min=1e-6),)

    def ctor_args(self, p):
        return _kw("beta", p["beta"], 1.0)


class _AlongDim(_Activation):
    params = (Param("dim", "int", -1, "Sample dimension to normalize over (-1 = last, "
                    "1 = first after the batch).", min=-8, max=8),)

    def infer(self, p, ins):
        self.require_float(ins[0])
        d = p["dim"]
        if d == 0 or d > ins[0].rank or d < -ins[0].rank:
            raise ShapeError(f"dim={d} is out of range for {ins[0]} (the batch is dim 0)", "in")
        return [ins[0]]

    def ctor_args(self, p):
        return f"dim={p['dim']}"


@register
class Softmax(_AlongDim):
    id = "act.Softmax"
    name = "Softmax"
    torch_name = "Softmax"
    doc = "Turns scores into probabilities that sum to 1."
    formula = "softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ)"


@register
class LogSoftmax(_AlongDim):
    id = "act.LogSoftmax"
    name = "LogSoftmax"
    torch_name = "LogSoftmax"
    doc = "Logarithm of the softmax (pairs with the NLL loss)."
    formula = "log_softmax(x)ᵢ = xᵢ − log Σⱼ e^(xⱼ)"


@register
class HardThreshold(_Activation):
    id = "act.HardThreshold"
    name = "Step"
    doc = "Heaviside step function, as in Rosenblatt's perceptron (no useful gradient)."
    formula = "f(x) = 1 if x > θ else 0"
    params = (Param("threshold", "float", 0.0, "Threshold θ.", min=-1e9, max=1e9),)
    support = '''
class Step(nn.Module):
    """Heaviside step: 1 where x > threshold, else 0 (the perceptron's activation)."""

    def __init__(self, threshold=0.0):
        super().__init__()
        self.threshold = threshold

    def forward(self, x):
        return (x > self.threshold).to(x.dtype)
'''

    def module(self, p, ins):
        return f"Step({_kw('threshold', p['threshold'], 0.0)})"
