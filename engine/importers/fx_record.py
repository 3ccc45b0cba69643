"""Two real runs of the traced module that tell the importer every node's shapes and values.

The module runs (eval mode, no gradients) on the example input at batch sizes 2 and 3, made
by repeating the example's rows. For each fx node the recorder keeps, per run, the shape of a
tensor that depends on the input's values, and the value itself for everything else: sizes
and shapes (`x.size(2)`, `x.shape`), flags, and tensors computed from parameters and buffers
alone. Comparing the two runs tells a batch axis (2 vs 3) from a fixed one, and a constant
from something that depends on the batch size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .builder import ImportModelError
from .fx_trace import eval_mode

BATCHES = (2, 3)

# reading these never depends on a tensor's values, only on its shape/type
SHAPE_ATTRS = {"shape", "ndim", "dtype", "device", "is_cuda", "requires_grad", "layout"}
SHAPE_METHODS = {"size", "dim", "numel", "nelement", "type", "get_device", "is_contiguous",
                 "is_floating_point"}


@dataclass(frozen=True)
class TensorMeta:
    """A tensor that depends on the input: its shape and dtype only."""

    shape: tuple[int, ...]
    dtype: Any


@dataclass
class Record:
    """What one fx node produced in the two runs."""

    runs: tuple          # the (summarised) value per run: TensorMeta, constants, tuples
    data: bool           # depends on the values of an input (not only on shapes)
    param: bool          # computed from a trainable parameter

    @property
    def first(self):
        return self.runs[0]


def summarise(value, data: bool):
    """A tensor that depends on the input becomes its TensorMeta; containers recurse."""
    import torch

    if isinstance(value, torch.Tensor):
        return TensorMeta(tuple(value.shape), value.dtype) if data else value
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # torch.return_types
        return tuple(summarise(v, data) for v in value)
    if isinstance(value, (tuple, list)):
        return type(value)(summarise(v, data) for v in value)
    return value


def is_shape_query(node) -> bool:
    if node.op == "call_function" and node.target is getattr:
        return node.args[1] in SHAPE_ATTRS
    return node.op == "call_method" and node.target in SHAPE_METHODS


def example_batch(x, n: int):
    """Rows of the example `x` repeated to a batch of n."""
    import torch

    return x[torch.arange(n) % x.shape[0]]


def record(root, graph, inputs: tuple) -> dict:
    """{fx node: Record} from running the traced `graph` of module `root` at both batch
    sizes."""
    import torch
    from torch import fx

    runs: list[dict] = []
    flags: dict = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            result = super().run_node(n)
            if n not in flags:
                sources = n.all_input_nodes
                if n.op == "placeholder":
                    data, param = n.name in real_inputs, False
                elif is_shape_query(n):
                    data, param = False, False
                else:
                    data = any(flags[s][0] for s in sources)
                    param = any(flags[s][1] for s in sources) or (
                        n.op == "get_attr" and isinstance(result, torch.nn.Parameter))
                flags[n] = (data, param)
            self.seen[n] = summarise(result, flags[n][0])
            return result

    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    real_inputs = {n.name for n in placeholders[:len(inputs)]}
    with eval_mode(root):
        try:
            for batch in BATCHES:
                rec = Recorder(root, graph=graph)
                rec.seen = {}
                with torch.no_grad():
                    rec.run(*(example_batch(x, batch) for x in inputs))
                runs.append(rec.seen)
        except ImportModelError:
            raise
        except Exception as exc:  # noqa: BLE001 (user code may raise anything)
            raise ImportModelError(f"running the traced model on the example input failed: "
                                   f"{type(exc).__name__}: {exc}") from None
    return {n: Record((runs[0][n], runs[1][n]), *flags[n]) for n in runs[0]}
