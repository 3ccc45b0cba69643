"""Studio's headless engine: graph document, layer registry, validation, codegen, projects.

Importing `engine` does not import torch or Qt; torch is imported when a graph is compiled.
"""
from __future__ import annotations

from .graph import Edge, Graph, GraphError, GraphEvent, Node
from .lazy_exports import lazy_exports
from .layers import (REGISTRY, LayerSpec, Param, ParamError, RegistryError, ShapeError,
                     TensorType, by_category, get_spec, register)
from .project import (FORMAT_VERSION, Project, ProjectError, load_project, loads_project,
                      save_project)
from .validate import Issue, Report, Validator, validate

# imported when first used: code generation, compiling (torch) and the model importers are
# not needed to open a project or show a graph (the app's window paints without them)
_LAZY = {"CompileError": "codegen", "GeneratedCode": "codegen", "generate": "codegen",
         "WeightsError": "compile", "apply_weights": "compile", "compile_graph": "compile",
         "node_state": "compile", "ImportModelError": "importers",
         "import_keras": "importers", "import_module": "importers",
         "import_onnx": "importers"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "CompileError", "Edge", "FORMAT_VERSION", "GeneratedCode", "Graph", "GraphError",
    "GraphEvent", "ImportModelError", "Issue", "LayerSpec", "Node", "Param", "ParamError",
    "Project", "ProjectError", "REGISTRY", "RegistryError", "Report", "ShapeError", "TensorType",
    "Validator", "WeightsError", "apply_weights", "by_category", "compile_graph", "generate",
    "get_spec", "import_keras", "import_module", "import_onnx", "load_project", "loads_project",
    "node_state", "register", "save_project", "validate",
]
