"""`--format weights`: the model's state dict as safetensors, keyed by PyTorch's names
('conv1.weight'), so `model.load_state_dict(safetensors.torch.load_file(path))` works on the
exported script's `Model`."""
from __future__ import annotations

from pathlib import Path

from ..graph import Graph
from ..project import atomic_write
from .common import build_model


def state_dict_tensors(graph: Graph, weights: dict | None = None) -> dict:
    """The compiled model's state dict (contiguous CPU tensors), weights applied."""
    model = build_model(graph, weights)
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def export_weights(graph: Graph, out: str | Path, weights: dict | None = None) -> Path:
    """Write the state dict of the compiled graph to `out` (safetensors), atomically."""
    from safetensors.torch import save

    out = Path(out)
    tensors = state_dict_tensors(graph, weights)
    atomic_write(out, save(tensors, metadata={"format": "pt", "producer": "studio"}))
    return out
