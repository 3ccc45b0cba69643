"""Normalization: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm.

Running statistics of batch norm are buffers, not parameters: they are saved with the weights
but not counted as trainable parameters (as in PyTorch).
"""
from __future__ import annotations

import math

from .base import Explanation, LayerSpec, Param, ShapeError, TensorType, register
from .emit import call

_EPS = Param("eps", "float", 1e-5, "Small constant added to the variance so it never divides "
             "by zero.", min=1e-12, max=1.0)
_AFFINE = Param("affine", "bool", True, "Learn a per-channel scale γ and shift β after "
                "normalizing.")


class _BatchNorm(LayerSpec):
    category = "Normalization"
    ranks: tuple[int, ...] = (3,)
    dims = 2
    formula = "y = γ·(x − μ_B)/√(σ²_B + ε) + β   (μ_B, σ²_B: per-channel batch statistics)"
    params = (
        _EPS,
        Param("momentum", "float", 0.1, "Weight of the current batch in the running mean and "
              "variance used at evaluation time.", min=0.0, max=1.0),
        _AFFINE,
        Param("track_running_stats", "bool", True, "Keep running mean/variance for "
              "evaluation; off = always use the batch's own statistics."),
    )

    def infer(self, p, ins):
        self.require_float(ins[0])
        self.require_rank(ins[0], self.ranks, "channels first")
        return [ins[0]]

    def param_count(self, p, ins):
        return 2 * ins[0].shape[0] if p["affine"] else 0

    def flops(self, p, ins, outs):
        return 2 * ins[0].numel

    def explain(self, p, ins, outs):
        c = ins[0].shape[0]
        e = Explanation([f"output {outs[0]} (same as input); statistics per channel over the "
                         f"batch{' and positions' if ins[0].rank > 1 else ''}, C = {c}"])
        if p["affine"]:
            e.params.append(f"params = 2·C (γ and β) = 2·{c} = {2 * c}")
        else:
            e.params.append("params = 0 (affine off)")
        if p["track_running_stats"]:
            e.params.append(f"plus buffers (not trained): running mean and variance, 2·{c}")
        return e

    def module(self, p, ins):
        return call(f"nn.BatchNorm{self.dims}d", [ins[0].shape[0]],
                    [("eps", p["eps"], 1e-5), ("momentum", p["momentum"], 0.1),
                     ("affine", p["affine"], True),
                     ("track_running_stats", p["track_running_stats"], True)])


@register
class BatchNorm1d(_BatchNorm):
    id = "norm.BatchNorm1d"
    name = "BatchNorm1d"
    ranks = (1, 2)
    dims = 1
    doc = "Batch normalization of features (N, C) or sequences (N, C, L)."


@register
class BatchNorm2d(_BatchNorm):
    id = "norm.BatchNorm2d"
    name = "BatchNorm2d"
    ranks = (3,)
    dims = 2
    doc = "Batch normalization of images (N, C, H, W), per channel."


@register
class LayerNorm(LayerSpec):
    id = "norm.LayerNorm"
    name = "LayerNorm"
    category = "Normalization"
    doc = "Normalizes each sample over its last dimension(s); used in Transformers."
    formula = "y = γ ⊙ (x − μ)/√(σ² + ε) + β   (μ, σ²: over the normalized dims of one sample)"
    params = (
        Param("normalized_dims", "int", 1, "How many trailing dimensions to normalize over "
              "(1 = the last, e.g. the features of each token).", min=1, max=8),
        _EPS,
        Param("elementwise_affine", "bool", True, "Learn a scale γ and shift β for every "
              "normalized element."),
    )

    def _shape(self, p, x: TensorType) -> tuple[int, ...]:
        return x.shape[x.rank - p["normalized_dims"]:]

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        if p["normalized_dims"] > x.rank:
            raise ShapeError(f"normalized_dims={p['normalized_dims']} but {x} has only "
                             f"{x.rank} dimension(s) after the batch", "in")
        return [x]

    def param_count(self, p, ins):
        return 2 * math.prod(self._shape(p, ins[0])) if p["elementwise_affine"] else 0

    def flops(self, p, ins, outs):
        return 2 * ins[0].numel

    def explain(self, p, ins, outs):
        shape = self._shape(p, ins[0])
        e = Explanation([f"output {outs[0]} (same as input); normalized over the last "
                         f"{len(shape)} dim(s) {tuple(shape)}"])
        if p["elementwise_affine"]:
            n = math.prod(shape)
            e.params.append(f"params = 2·{'·'.join(map(str, shape))} (γ and β) = {2 * n}")
        else:
            e.params.append("params = 0 (elementwise_affine off)")
        return e

    def module(self, p, ins):
        shape = self._shape(p, ins[0])
        first = shape[0] if len(shape) == 1 else tuple(shape)
        return call("nn.LayerNorm", [first], [("eps", p["eps"], 1e-5), (
            "elementwise_affine", p["elementwise_affine"], True)])


@register
class GroupNorm(LayerSpec):
    id = "norm.GroupNorm"
    name = "GroupNorm"
    category = "Normalization"
    doc = "Normalizes groups of channels within each sample; independent of the batch size."
    formula = ("y = γ·(x − μ_g)/√(σ²_g + ε) + β   "
               "(μ_g, σ²_g: over one group's channels and positions)")
    params = (
        Param("num_groups", "int", 4, "Number of channel groups; must divide the channels "
              "(1 = LayerNorm over (C, ...), C = InstanceNorm).", min=1, max=100_000),
        _EPS,
        _AFFINE,
    )

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        if x.rank < 1:
            raise ShapeError(f"expected input (N, C, ...), received {x}", "in")
        c, g = x.shape[0], p["num_groups"]
        if c % g:
            raise ShapeError(f"num_groups={g} must divide the {c} channels of {x}", "in")
        return [x]

    def param_count(self, p, ins):
        return 2 * ins[0].shape[0] if p["affine"] else 0

    def flops(self, p, ins, outs):
        return 2 * ins[0].numel

    def explain(self, p, ins, outs):
        c, g = ins[0].shape[0], p["num_groups"]
        e = Explanation([f"output {outs[0]} (same as input); {g} groups of {c // g} channels"])
        e.params.append(f"params = 2·C = 2·{c} = {2 * c}" if p["affine"]
                        else "params = 0 (affine off)")
        return e

    def module(self, p, ins):
        return call("nn.GroupNorm", [p["num_groups"], ins[0].shape[0]],
                    [("eps", p["eps"], 1e-5), ("affine", p["affine"], True)])
