"""`--format torchscript`: the compiled model scripted with torch.jit (loadable with
`torch.jit.load` without Studio or the generated source)."""
from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_path
from ..graph import Graph
from .common import ExportError, bake_parametrizations, build_model


def script_model(graph: Graph, weights: dict | None = None):
    """A ScriptModule of the compiled graph (eval mode; weight/spectral norm baked into the
    weight: TorchScript cannot compile parametrizations). Raises ExportError."""
    import torch

    model = bake_parametrizations(build_model(graph, weights))
    try:
        return torch.jit.script(model)
    except Exception as exc:  # noqa: BLE001 (TorchScript raises many error types)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"TorchScript cannot compile this model: {first}") from None


def export_torchscript(graph: Graph, out: str | Path, weights: dict | None = None) -> Path:
    """Write the scripted model to `out` (a .pt archive), atomically."""
    import torch

    scripted = script_model(graph, weights)
    out = Path(out)
    with atomic_path(out) as tmp:   # saved to a file name: torch keeps no copy of the
        torch.jit.save(scripted, str(tmp))   # archive in memory (to a file object it does)
    return out
