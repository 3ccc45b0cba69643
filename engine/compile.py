"""Compile a graph: exec the generated source into an nn.Module.

The source is registered in `linecache`, so a traceback through the model's forward shows the
generated lines (with their node-name comments), not "<string>".
"""
from __future__ import annotations

import itertools
import linecache
from dataclasses import replace
from typing import Any

from .codegen import GeneratedCode, generate
from .graph import Graph
from .validate import Report

_counter = itertools.count(1)


class WeightsError(ValueError):
    """Stored weights do not fit the model (missing node, wrong tensor shape)."""


def compile_source(code: GeneratedCode):
    """Exec generated source and return an instance of its module class."""
    import torch  # noqa: F401  (the generated code imports it; keep the import lazy here)

    filename = f"<studio-generated {code.class_name} #{next(_counter)}>"
    code = replace(code, filename=filename)  # each model its own name, for tracebacks
    linecache.cache[filename] = (len(code.source), None, code.source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": f"studio_generated_{code.class_name}"}
    exec(compile(code.source, filename, "exec"), namespace)
    model = namespace[code.class_name]()
    model.studio_code = code
    return model


def compile_graph(graph: Graph, report: Report | None = None, class_name: str = "Model",
                  load_weights: bool = True):
    """An nn.Module computing `graph`. Raises codegen.CompileError (carrying the validation
    report) when the graph is invalid; loads `graph.weights` when present."""
    model = compile_source(generate(graph, report, class_name))
    if load_weights and graph.weights:
        apply_weights(model, graph.weights)
    return model


def node_state(model) -> dict[str, dict[str, Any]]:
    """The model's tensors grouped by node id: {node_id: {'weight': t, 'bias': t}}."""
    code: GeneratedCode = model.studio_code
    by_attr: dict[str, dict[str, Any]] = {}
    for key, value in model.state_dict().items():  # one pass: linear in the node count
        attr, _, name = key.partition(".")
        by_attr.setdefault(attr, {})[name] = value
    return {nid: by_attr[attr] for nid, attr in code.attrs.items() if attr in by_attr}


def apply_weights(model, weights: dict[str, dict[str, Any]], strict: bool = False,
                  assign: bool = False) -> list[str]:
    """Copy per-node tensors into `model`. Nodes that no longer exist are skipped (their ids are
    returned); a tensor whose shape does not fit raises WeightsError naming node and tensor.
    `assign`: the tensors become the model's own, numpy arrays shared, not copied (a model
    built on the meta device; nothing may change them in place)."""
    import torch

    code: GeneratedCode = model.studio_code
    state = model.state_dict()
    skipped, update = [], {}
    for nid, tensors in weights.items():
        attr = code.attrs.get(nid)
        if attr is None:
            skipped.append(nid)
            continue
        for key, value in tensors.items():
            full = f"{attr}.{key}"
            if full not in state:
                raise WeightsError(f"node '{attr}' has no tensor {key!r}")
            value = torch.as_tensor(value)
            if assign and value.dtype != state[full].dtype:
                value = value.to(state[full].dtype)
            if tuple(value.shape) != tuple(state[full].shape):
                raise WeightsError(f"node '{attr}': tensor {key!r} has shape "
                                   f"{tuple(value.shape)}, the layer needs "
                                   f"{tuple(state[full].shape)}")
            update[full] = value
    if strict and skipped:
        raise WeightsError(f"weights for unknown nodes: {', '.join(skipped)}")
    del state   # with `assign`, the tensors replaced are freed as they go
    model.load_state_dict(update, strict=False, assign=assign)
    return skipped
