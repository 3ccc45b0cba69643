"""Input and Output nodes: the model's boundary."""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ShapeError, TensorType, register


@register
class Input(LayerSpec):
    id = "io.Input"
    name = "Input"
    category = "Input/Output"
    role = "input"
    doc = "A model input: a batch of tensors of the given shape (batch dimension excluded)."
    params = (
        Param("shape", "shape", [1, 8, 8], "Shape of one sample, without the batch dimension."),
        Param("dtype", "choice", "float", "float for real values, long for integer token ids.",
              choices=("float", "long")),
    )

    def input_ports(self, p):
        return []

    def infer(self, p, ins):
        return [TensorType(tuple(p["shape"]), p["dtype"])]

    def explain(self, p, ins, outs):
        return Explanation([f"output {outs[0]}: the batch N followed by the sample shape"])


@register
class Output(LayerSpec):
    id = "io.Output"
    name = "Output"
    category = "Input/Output"
    role = "output"
    doc = "Marks a model output. Each Output gets its own loss when training."
    params = (
        Param("loss_weight", "float", 1.0, "Weight of this output's loss in the total loss.",
              min=0.0),
    )

    def output_ports(self, p):
        return []

    def infer(self, p, ins):
        if ins[0].rank == 0:
            raise ShapeError("expected a tensor with at least one dimension", "in")
        return []

    def explain(self, p, ins, outs):
        return Explanation([f"model output {ins[0]}" if ins else "model output"])

    def forward(self, p, attr, args, outs):
        return []
