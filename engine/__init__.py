"""Studio's headless engine: graph document, layer registry, validation, codegen, projects.

Importing `engine` does not import torch or Qt; torch is imported when a graph is compiled.
"""
from __future__ import annotations

from .codegen import CompileError, GeneratedCode, generate
from .compile import WeightsError, apply_weights, compile_graph, node_state
from .graph import Edge, Graph, GraphError, GraphEvent, Node
from .importers import ImportModelError, import_keras, import_module, import_onnx
from .layers import (REGISTRY, LayerSpec, Param, ParamError, RegistryError, ShapeError,
                     TensorType, by_category, get_spec, register)
from .project import (FORMAT_VERSION, Project, ProjectError, load_project, loads_project,
                      save_project)
from .validate import Issue, Report, Validator, validate

__all__ = [
    "CompileError", "Edge", "FORMAT_VERSION", "GeneratedCode", "Graph", "GraphError",
    "GraphEvent", "ImportModelError", "Issue", "LayerSpec", "Node", "Param", "ParamError",
    "Project", "ProjectError", "REGISTRY", "RegistryError", "Report", "ShapeError", "TensorType",
    "Validator", "WeightsError", "apply_weights", "by_category", "compile_graph", "generate",
    "get_spec", "import_keras", "import_module", "import_onnx", "load_project", "loads_project",
    "node_state", "register", "save_project", "validate",
]
