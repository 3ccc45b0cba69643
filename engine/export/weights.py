"""`--format weights`: the model's state dict as safetensors, keyed by PyTorch's names
('conv1.weight'), so `model.load_state_dict(safetensors.torch.load_file(path))` works on the
exported script's `Model`. Written tensor by tensor from the model's own memory (a big model
is never serialised whole into one bytes object)."""
from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_write_blocks
from ..graph import Graph
from ..weights_file import safetensors_stream
from .common import ExportError, build_model

METADATA = {"format": "pt", "producer": "studio"}


def state_dict_tensors(graph: Graph, weights: dict | None = None) -> dict:
    """The compiled model's state dict (contiguous CPU tensors), weights applied."""
    model = build_model(graph, weights)
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def export_weights(graph: Graph, out: str | Path, weights: dict | None = None) -> Path:
    """Write the state dict of the compiled graph to `out` (safetensors), atomically."""
    out = Path(out)
    tensors = state_dict_tensors(graph, weights)
    try:
        _size, blocks = safetensors_stream(tensors, METADATA)
    except (ValueError, TypeError) as exc:   # e.g. bfloat16, which numpy cannot hold
        raise ExportError(f"the weights cannot be exported: {exc}") from None
    atomic_write_blocks(out, blocks)
    return out
