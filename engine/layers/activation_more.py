"""More element-wise activations that imported models use: SELU and Softsign (Keras
activation= names, ONNX Selu/Softsign)."""
from __future__ import annotations

from .activation import _Activation
from .base import register


@register
class SELU(_Activation):
    id = "act.SELU"
    name = "SELU"
    torch_name = "SELU"
    doc = "Scaled ELU: keeps activations normalized in deep MLPs (self-normalizing networks)."
    formula = "f(x) = λ·x if x > 0 else λ·α·(eˣ − 1),  λ ≈ 1.0507, α ≈ 1.6733"


@register
class Softsign(_Activation):
    id = "act.Softsign"
    name = "Softsign"
    torch_name = "Softsign"
    doc = "Squashes to (−1, 1) like tanh, with polynomial tails."
    formula = "f(x) = x / (1 + |x|)"
