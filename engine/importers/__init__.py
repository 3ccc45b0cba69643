"""Importers: bring a model from elsewhere into a Studio graph.

One graph builder (`GraphBuilder`, builder.py) and front ends that emit the same calls to it:

- torch.fx (`import_module`, torch_fx.py): an `nn.Module` traced on an example input.

A front end maps every operation of its source onto a registered layer spec and calls
`GraphBuilder.add(spec, params, inputs, origin, weights=..., shape=...)`; an operation it
cannot map raises `ImportModelError(why, origin)`. `GraphBuilder.finish()` validates the graph,
checks the shapes the source produced against Studio's inference and lays it out. Nothing in
an imported file is executed, except the user's own `.py` for torch.fx.
"""
from __future__ import annotations

from .builder import GraphBuilder, ImportModelError, Origin, Wire, layout


def import_module(module, example_input, input_names: list[str] | None = None,
                  blocks: bool = True):
    """Trace an `nn.Module` with torch.fx into a Graph with its weights (see torch_fx); with
    `blocks`, its submodules become blocks (see blocks.py)."""
    from .torch_fx import import_module as _import_module

    return _import_module(module, example_input, input_names, blocks)


__all__ = ["GraphBuilder", "ImportModelError", "Origin", "Wire", "import_module", "layout"]
