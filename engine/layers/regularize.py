"""Regularising layers that act only while training: DropConnect (a Linear whose weights are
dropped, Wan et al. 2013) and Noise (corrupts its input: put it right after the Input of an
autoencoder whose target is the input, and it becomes a denoising autoencoder)."""
from __future__ import annotations

import math

from .base import Explanation, LayerSpec, Param, ParamError, ShapeError, TensorType, register
from .emit import call

_DROP_CONNECT = '''
class DropConnect(nn.Linear):
    """A Linear layer whose weights, not activations, are dropped while training: each weight
    is zeroed with probability p (one mask per batch) and the kept ones are scaled by
    1/(1 - p); in evaluation it is the plain Linear with all its weights."""

    def __init__(self, in_features, out_features, bias=True, p=0.5):
        super().__init__(in_features, out_features, bias=bias)
        self.p = p

    def forward(self, x):
        w = F.dropout(self.weight, self.p, self.training)
        return F.linear(x, w, self.bias)
'''

_NOISE = '''
class Noise(nn.Module):
    """Corrupts its input while training, the identity in evaluation. kind 'gaussian' adds
    N(0, amount²) noise; 'masking' sets each value to 0 with probability `amount` (no
    rescaling: the denoising autoencoder's corruption of Vincent et al., 2008)."""

    def __init__(self, kind="gaussian", amount=0.1):
        super().__init__()
        self.kind = kind
        self.amount = amount

    def forward(self, x):
        if not self.training or self.amount == 0.0:
            return x
        if self.kind == "gaussian":
            return x + torch.randn_like(x) * self.amount
        return x * torch.empty_like(x).bernoulli_(1.0 - self.amount)
'''


@register
class DropConnect(LayerSpec):
    id = "core.DropConnect"
    name = "DropConnect"
    category = "Core"
    doc = ("A Linear layer whose weights are randomly dropped while training (DropConnect); "
           "the plain Linear when evaluating.")
    formula = "y = x·(M ⊙ W)ᵀ / (1 − p) + b,  M ~ Bernoulli(1 − p) per weight"
    support = _DROP_CONNECT
    params = (
        Param("out_features", "int", 10, "Number of output units.", min=1, max=1_000_000),
        Param("p", "float", 0.5, "Probability of dropping each weight while training.",
              min=0.0, max=0.99),
        Param("bias", "bool", True, "Learn an additive bias (never dropped)."),
    )

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        self.require_rank(x, (1,), "features")
        return [TensorType((p["out_features"],))]

    def param_count(self, p, ins):
        f, o = ins[0].shape[-1], p["out_features"]
        return f * o + (o if p["bias"] else 0)

    def flops(self, p, ins, outs):
        return ins[0].shape[-1] * p["out_features"]

    def explain(self, p, ins, outs):
        f, o = ins[0].shape[-1], p["out_features"]
        b = f" + {o}" if p["bias"] else ""
        return Explanation(
            [f"output {outs[0]}: {f} features → out_features = {o}"],
            [f"params = in·out{' + out' if p['bias'] else ''} = {f}·{o}{b} = "
             f"{self.param_count(p, ins)}",
             f"while training about {p['p']:.0%} of the {f * o} weights are dropped per batch"])

    def module(self, p, ins):
        return call("DropConnect", [ins[0].shape[-1], p["out_features"]],
                    [("bias", p["bias"], True), ("p", p["p"], 0.5)])


@register
class Noise(LayerSpec):
    id = "core.Noise"
    name = "Noise"
    category = "Core"
    doc = ("Corrupts its input while training (Gaussian noise or masking), identity when "
           "evaluating: after the Input of an autoencoder it makes a denoising autoencoder.")
    formula = "gaussian: y = x + ε, ε ~ N(0, σ²);  masking: y = m ⊙ x, m ~ Bernoulli(1 − p)"
    support = _NOISE
    params = (
        Param("kind", "choice", "gaussian", "gaussian: add noise of standard deviation "
              "'amount'; masking: zero each value with probability 'amount'.",
              choices=("gaussian", "masking")),
        Param("amount", "float", 0.1, "Noise standard deviation (gaussian) or the share of "
              "values set to 0 (masking).", min=0.0, max=100.0),
    )

    def check_params(self, p):
        if p["kind"] == "masking" and p["amount"] > 1.0:
            raise ParamError(f"amount must be between 0 and 1 for masking noise. Received: "
                             f"amount={p['amount']:g}")

    def infer(self, p, ins):
        self.require_float(ins[0])
        if ins[0].rank == 0:
            raise ShapeError(f"expected input (N, F), received {ins[0]}", "in")
        return [ins[0]]

    def explain(self, p, ins, outs):
        what = (f"adds N(0, {p['amount']:g}²) noise" if p["kind"] == "gaussian"
                else f"zeroes about {p['amount']:.0%} of the {math.prod(ins[0].shape)} values")
        return Explanation([f"output {outs[0]} (same as input): while training {what}; "
                            "unchanged when evaluating"], ["params = 0"])

    def module(self, p, ins):
        return call("Noise", [], [("kind", p["kind"], "gaussian"), ("amount", p["amount"], 0.1)])
