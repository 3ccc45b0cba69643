"""The VAE's KL term: each Sampling node's module stores its weighted KL divergence on every
forward (engine/layers/generative.py); the loss of a batch adds them, in graph order."""
from __future__ import annotations

from ..layers.generative import SAMPLING_TYPE


def sampling_modules(model, graph) -> list:
    """The modules of the graph's Sampling nodes, in the model's node order."""
    return [getattr(model, attr) for nid, attr in model.studio_code.attrs.items()
            if nid in graph.nodes and graph.nodes[nid].type == SAMPLING_TYPE]


def kl_term(modules: list):
    """Σ β·KL of the last forward of each Sampling module (a tensor)."""
    total = modules[0].kl
    for m in modules[1:]:
        total = total + m.kl
    return total
