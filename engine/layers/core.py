"""Core layers: Linear, Flatten, Reshape, Permute, Identity, Dropout, Embedding, DropPath."""
from __future__ import annotations

import math

from .base import Explanation, LayerSpec, Param, ParamError, ShapeError, TensorType, register
from .emit import call
from .reparam import WEIGHT_NORM, explain as reparam_explain, extra_params, wrap


@register
class Linear(LayerSpec):
    id = "core.Linear"
    name = "Linear"
    category = "Core"
    doc = "Fully connected (dense) layer: y = x Wᵀ + b on the last dimension."
    formula = "y = x·Wᵀ + b,  W ∈ ℝ^(out×in)"
    params = (
        Param("out_features", "int", 10, "Number of output units.", min=1, max=1_000_000),
        Param("bias", "bool", True, "Learn an additive bias."),
        Param("every_position", "bool", False, "Apply to the last axis at every position of "
              "an input with more axes, such as a channels-last image (N, H, W, C). Off, such "
              "an input is refused: it usually means a Flatten is missing."),
        WEIGHT_NORM,
    )

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        if x.rank == 0:
            raise ShapeError(f"expected input (N, F), received {x}", "in")
        if x.rank > 2 and not p["every_position"]:
            raise ShapeError(f"expected input (N, {x.numel}), received {x}: add a Flatten "
                             "before it", "in")
        return [TensorType((*x.shape[:-1], p["out_features"]))]

    def param_count(self, p, ins):
        f, o = ins[0].shape[-1], p["out_features"]
        return f * o + (o if p["bias"] else 0) + extra_params(p["weight_norm"], o)

    def flops(self, p, ins, outs):
        return math.prod(ins[0].shape) * p["out_features"]

    def explain(self, p, ins, outs):
        f, o = ins[0].shape[-1], p["out_features"]
        e = Explanation([f"output {outs[0]}: last dimension {f} → out_features = {o}"])
        b = f" + {o}" if p["bias"] else ""
        g = f" + {o}" if p["weight_norm"] == "weight_norm" else ""
        e.params.append(f"params = in·out{' + out' if p['bias'] else ''}{' + out' if g else ''}"
                        f" = {f}·{o}{b}{g} = {self.param_count(p, ins)}")
        e.params += reparam_explain(p["weight_norm"], o)
        return e

    def module(self, p, ins):
        return wrap(call("nn.Linear", [ins[0].shape[-1], p["out_features"]],
                         [("bias", p["bias"], True)]), p["weight_norm"])


@register
class Flatten(LayerSpec):
    id = "core.Flatten"
    name = "Flatten"
    category = "Core"
    doc = "Flattens all dimensions after the batch into one."

    def infer(self, p, ins):
        return [TensorType((ins[0].numel,), ins[0].dtype)]

    def explain(self, p, ins, outs):
        dims = "·".join(map(str, ins[0].shape)) or "1"
        return Explanation([f"output {outs[0]}: {dims} = {ins[0].numel}"], ["params = 0"])

    def module(self, p, ins):
        return "nn.Flatten()"


@register
class Reshape(LayerSpec):
    id = "core.Reshape"
    name = "Reshape"
    category = "Core"
    doc = "Reshapes each sample (batch kept); one dimension may be -1."
    params = (Param("shape", "ints", [-1], "Target shape without the batch; -1 infers one."),)

    def check_params(self, p):
        s = p["shape"] if isinstance(p["shape"], list) else [p["shape"]]
        if s.count(-1) > 1 or any(d == 0 or d < -1 for d in s):
            raise ParamError(f"shape must be positive integers with at most one -1. "
                             f"Received: shape={p['shape']}")

    def infer(self, p, ins):
        s = p["shape"] if isinstance(p["shape"], list) else [p["shape"]]
        n = ins[0].numel
        known = math.prod(d for d in s if d != -1)
        if -1 in s:
            if n % known:
                raise ShapeError(f"cannot reshape {ins[0]} ({n} values) to {s}", "in")
            s = [n // known if d == -1 else d for d in s]
        elif known != n:
            raise ShapeError(f"cannot reshape {ins[0]} ({n} values) to {s} ({known} values)",
                             "in")
        return [TensorType(tuple(s), ins[0].dtype)]

    def forward(self, p, attr, args, outs):
        s = p["shape"] if isinstance(p["shape"], list) else [p["shape"]]
        return [f"{outs[0]} = {args[0]}.reshape({args[0]}.shape[0], {', '.join(map(str, s))})"]


@register
class Permute(LayerSpec):
    id = "core.Permute"
    name = "Permute"
    category = "Core"
    doc = "Reorders the dimensions of each sample (1-based, batch fixed), as Keras Permute."
    params = (Param("dims", "ints", [2, 1], "New order of the sample dimensions, from 1."),)

    def infer(self, p, ins):
        d = p["dims"] if isinstance(p["dims"], list) else [p["dims"]]
        if sorted(d) != list(range(1, ins[0].rank + 1)):
            raise ShapeError(f"dims {d} is not a permutation of 1..{ins[0].rank} for {ins[0]}",
                             "in")
        return [TensorType(tuple(ins[0].shape[i - 1] for i in d), ins[0].dtype)]

    def forward(self, p, attr, args, outs):
        d = p["dims"] if isinstance(p["dims"], list) else [p["dims"]]
        return [f"{outs[0]} = {args[0]}.permute(0, {', '.join(map(str, d))})"]


@register
class Identity(LayerSpec):
    id = "core.Identity"
    name = "Identity"
    category = "Core"
    doc = "Passes its input through unchanged."

    def module(self, p, ins):
        return "nn.Identity()"


@register
class Dropout(LayerSpec):
    id = "core.Dropout"
    name = "Dropout"
    category = "Core"
    doc = "Randomly zeroes activations with probability p while training (scaled by 1/(1-p))."
    formula = "y = m ⊙ x / (1 − p),  m ~ Bernoulli(1 − p)"
    params = (Param("p", "float", 0.5, "Probability of zeroing an element.", min=0.0, max=1.0),)

    def module(self, p, ins):
        return call("nn.Dropout", [p["p"]])


@register
class Embedding(LayerSpec):
    id = "core.Embedding"
    name = "Embedding"
    category = "Core"
    doc = "Maps integer token ids to learned dense vectors."
    formula = "y[t] = E[x[t]],  E ∈ ℝ^(vocab×dim)"
    params = (
        Param("num_embeddings", "int", 1000, "Vocabulary size.", min=1, max=10_000_000),
        Param("embedding_dim", "int", 32, "Size of each vector.", min=1, max=100_000),
        Param("padding_idx", "int", None, "The id of the padding token: its vector gets no "
              "gradient (and starts at zero); empty = none.", min=-10_000_000, max=10_000_000,
              optional=True),
    )

    def check_params(self, p):
        pad, n = p["padding_idx"], p["num_embeddings"]
        if pad is not None and not -n <= pad < n:
            raise ParamError(f"padding_idx must be an id below num_embeddings={n}. "
                             f"Received: padding_idx={pad}")

    def infer(self, p, ins):
        if ins[0].dtype != "long":
            raise ShapeError(f"expected integer token ids, received float {ins[0]}: set the "
                             "Input's dtype to long", "in")
        return [TensorType((*ins[0].shape, p["embedding_dim"]))]

    def param_count(self, p, ins):
        return p["num_embeddings"] * p["embedding_dim"]

    def explain(self, p, ins, outs):
        v, d = p["num_embeddings"], p["embedding_dim"]
        return Explanation([f"output {outs[0]}: each id becomes a vector of {d}"],
                           [f"params = vocab·dim = {v}·{d} = {v * d}"])

    def module(self, p, ins):
        pad = [] if p["padding_idx"] is None else [("padding_idx", p["padding_idx"], None)]
        return call("nn.Embedding", [p["num_embeddings"], p["embedding_dim"]], pad)


_DROP_PATH_SUPPORT = '''
class DropPath(nn.Module):
    """Stochastic depth: while training, drops a whole residual branch for a sample (mode
    'row') or for the whole batch ('batch') with probability p and scales the kept ones by
    1/(1 - p); the identity in evaluation."""

    def __init__(self, p=0.1, mode="row"):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1) if self.mode == "row" else (1,) * x.dim()
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask.div_(keep) if keep > 0.0 else x * mask
'''


@register
class DropPath(LayerSpec):
    id = "core.DropPath"
    name = "DropPath"
    category = "Core"
    doc = "Stochastic depth: drops a residual branch per sample while training (place it " \
          "before the Add of a residual block); identity when evaluating."
    formula = "y = m · x / (1 − p),  m ~ Bernoulli(1 − p) per sample"
    support = _DROP_PATH_SUPPORT
    params = (
        Param("p", "float", 0.1, "Probability of dropping the branch.", min=0.0, max=1.0),
        Param("mode", "choice", "row", "row: a coin per sample; batch: one coin for the whole "
              "batch.", choices=("row", "batch")),
    )

    def module(self, p, ins):
        return call("DropPath", [p["p"]], [("mode", p["mode"], "row")])
