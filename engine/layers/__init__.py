"""The layer registry: every layer type, keyed by a namespaced id ("conv.Conv2d").

Third-party packages can add layer types through the `studio.layers` entry-point group: each
entry point names a module whose import registers its specs with `@register`.
"""
from __future__ import annotations

from importlib import import_module

from .base import (REGISTRY, Explanation, LayerSpec, Param, ParamError, RegistryError,
                   ShapeError, TensorType, expand, get_spec, register)

_BUILTIN = ("io", "core", "tensor", "conv", "pool", "norm", "activation", "recurrent",
            "attention", "merge", "math", "sparsity", "rbm", "regularize", "generative")

for _name in _BUILTIN:
    import_module(f"{__name__}.{_name}")
import_module(f"{__name__}.pad")               # added for the ONNX/Keras importers
import_module(f"{__name__}.activation_more")


def load_plugins() -> list[str]:
    """Import layer modules advertised by installed packages; returns the loaded names."""
    from importlib.metadata import entry_points  # slow to import: only when plugins load

    loaded = []
    for ep in entry_points(group="studio.layers"):
        ep.load()
        loaded.append(ep.name)
    return loaded


CATEGORIES = ("Input/Output", "Core", "Convolution", "Pooling", "Normalization", "Activation",
              "Recurrent", "Attention", "Merge", "Math", "Sparsity", "Energy-based",
              "Generative")
# each category's colour: node headers on the canvas, the palette, the HTML report's graph
CATEGORY_COLORS = {
    "Input/Output": "#4c9a6a", "Core": "#4a78c2", "Convolution": "#c2694a",
    "Pooling": "#b58b2e", "Normalization": "#8a64c4", "Activation": "#3f9fae",
    "Recurrent": "#c24a7c", "Attention": "#d0803a", "Merge": "#6f7f8f", "Math": "#5f8f7a",
    "Sparsity": "#7c9a3a", "Energy-based": "#a8563a", "Generative": "#b0467a",
    "Blocks": "#33658a",
}


def by_category() -> dict[str, list[LayerSpec]]:
    """Specs grouped by category, in palette order."""
    out: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORIES}
    for spec in REGISTRY.values():
        out.setdefault(spec.category, []).append(spec)
    return {c: specs for c, specs in out.items() if specs}


__all__ = ["REGISTRY", "CATEGORIES", "CATEGORY_COLORS", "Explanation", "LayerSpec", "Param",
           "ParamError",
           "RegistryError", "ShapeError", "TensorType", "by_category", "expand", "get_spec",
           "load_plugins", "register"]
