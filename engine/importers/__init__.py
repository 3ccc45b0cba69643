"""Importers: bring a model from elsewhere into a Studio graph.

One graph builder (`GraphBuilder`, builder.py) and front ends that emit the same calls to it:

- torch.fx (`import_module`, torch_fx.py): an `nn.Module` traced on an example input.
- ONNX (`import_onnx`, onnx_import.py with onnx_rules/onnx_layers/onnx_tensor/onnx_recurrent/
  onnx_topk): an .onnx file, tensors tracked as views of batch-first Studio tensors (layout.py).
- Keras (`import_keras`, keras_import.py with keras_rules): a .keras (Keras 3) or legacy .h5
  (Keras 2) file read with json and h5py only.

`import_file(path)` picks the front end by the file's suffix. Model files are read
defensively (model_file.py): size-checked, nothing executed or unpickled.

A front end maps every operation of its source onto a registered layer spec and calls
`GraphBuilder.add(spec, params, inputs, origin, weights=..., shape=...)`; an operation it
cannot map raises `ImportModelError(why, origin)`. `GraphBuilder.finish()` validates the graph,
checks the shapes the source produced against Studio's inference and lays it out. Nothing in
an imported file is executed, except the user's own `.py` for torch.fx.
"""
from __future__ import annotations

from .builder import GraphBuilder, ImportModelError, Origin, Wire, layout
from .model_file import ModelFileError

MODEL_SUFFIXES = (".onnx", ".keras", ".h5", ".hdf5")


def import_module(module, example_input, input_names: list[str] | None = None,
                  blocks: bool = True):
    """Trace an `nn.Module` with torch.fx into a Graph with its weights (see torch_fx); with
    `blocks`, its submodules become blocks (see blocks.py)."""
    from .torch_fx import import_module as _import_module

    return _import_module(module, example_input, input_names, blocks)


def import_onnx(path, input_shapes: dict | None = None):
    """Import an .onnx file into a Graph with its weights (see onnx_import)."""
    from .onnx_import import import_onnx as _import_onnx

    return _import_onnx(path, input_shapes)


def import_keras(path):
    """Import a Keras .keras or legacy .h5 file into a Graph with its weights (see
    keras_import)."""
    from .keras_import import import_keras as _import_keras

    return _import_keras(path)


def import_file(path, input_shapes: dict | None = None):
    """Import a model file by its suffix (.onnx, .keras, .h5/.hdf5); returns (graph, a
    one-line description of where it came from). Raises ImportModelError."""
    from pathlib import Path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return import_onnx(path, input_shapes), f"Imported from {path.name} (ONNX)"
    if suffix in (".keras", ".h5", ".hdf5"):
        return import_keras(path), f"Imported from {path.name} (Keras)"
    raise ImportModelError(f"{path}: not a model file Studio imports (use .onnx, .keras, .h5 "
                           "or a .py file with an nn.Module)")


__all__ = [
    "MODEL_SUFFIXES",
    "GraphBuilder",
    "ImportModelError",
    "ModelFileError",
    "Origin",
    "Wire",
    "import_file",
    "import_keras",
    "import_module",
    "import_onnx",
    "layout",
]
