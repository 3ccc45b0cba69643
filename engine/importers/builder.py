"""The one graph builder every importer front end (torch.fx, ONNX, Keras) emits its calls to.

    b = GraphBuilder()
    x = b.input("image", (3, 32, 32))
    y = b.add("conv.Conv2d", {"out_channels": 8, "kernel_size": 3}, [x],
              Origin("conv1", "nn.Conv2d", "model.py:12", scope="features"),
              weights={"weight": w, "bias": bias}, shape=(8, 30, 30))
    b.output(y, "logits")
    graph = b.finish()          # validated, shapes checked, laid out left to right

A front end maps each operation of its source onto a registered layer spec and calls `add`;
it never builds `Graph` nodes itself, so naming, weights, shape checks, error messages and
layout are the same for every source format. Anything a front end cannot map is raised as
`ImportModelError(why, origin)`, which names the source node, its operation and, when known,
the file and line it came from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..graph import Graph
from ..layers import get_spec
from ..validate import validate
from .simplify import simplify


@dataclass(frozen=True)
class Origin:
    """Where an imported node came from, for error messages (and later for blocks).

    name: the node's name in the source (fx node, ONNX node or Keras layer name);
    op: its operation as the user wrote it ('nn.Conv2d', 'torch.sin', 'Conv', 'Dense');
    location: 'model.py:12' in the user's source, '' when unknown;
    scope: the module path the op belongs to ('layer1.0'), '' at the top level.
    """

    name: str
    op: str
    location: str = ""
    scope: str = ""

    def describe(self) -> str:
        where = f", {self.location}" if self.location else ""
        return f"node '{self.name}' ({self.op}{where})"


class ImportModelError(ValueError):
    """The model cannot be imported. The message is one sentence naming the source node, its
    operation and location (`origin`, when known) and the reason."""

    def __init__(self, why: str, origin: Origin | None = None):
        self.why = why
        self.origin = origin
        super().__init__(f"cannot import {origin.describe()}: {why}" if origin else why)


@dataclass(frozen=True)
class Wire:
    """A tensor of the graph being built: output `port` of the Studio node `node` (an id)."""

    node: str
    port: str = "out"


class GraphBuilder:
    """Builds one Studio graph: inputs, layer nodes with their weights, outputs.

    Every node gets a unique Python-friendly name derived from the source name. `add` checks
    params against the spec at once (a refused param is an ImportModelError naming the
    source node); `finish` validates the whole graph, compares Studio's inferred shapes with
    the ones the source model produced and lays the graph out.
    """

    def __init__(self) -> None:
        self.graph = Graph()
        self.origins: dict[str, Origin] = {}          # node id -> where it came from
        self._expected: dict[str, tuple[int, ...]] = {}
        self._types: dict[tuple[str, str], Any] = {}  # (node id, port) -> TensorType

    # nodes -----------------------------------------------------------------------------
    def input(self, name: str, shape, dtype: str = "float") -> Wire:
        """A model input of per-sample `shape` (batch excluded); dtype 'float' or 'long'."""
        node = self.graph.add_node("io.Input", {"shape": list(shape), "dtype": dtype},
                                   name=self.graph.unique_name(name))
        return Wire(node.id)

    def add(self, spec: str, params: dict, inputs: list[Wire], origin: Origin, *,
            weights: dict[str, Any] | None = None, shape=None, trainable: bool = True,
            name: str | None = None) -> Wire:
        """A node of layer `spec` with `params`, its input ports wired to `inputs` in port
        order; returns its first output. `weights` maps tensor names of the module the spec
        generates ('weight', 'running_mean', ...) to arrays or tensors (copied). `shape` is
        the per-sample output shape the source model produced, checked by `finish`."""
        try:
            layer = get_spec(spec)
            ports = layer.input_ports(layer.coerce_params(params))
        except Exception as exc:  # noqa: BLE001 (RegistryError, ParamError)
            raise ImportModelError(str(exc), origin) from None
        if len(ports) != len(inputs):
            raise ImportModelError(f"Studio's {layer.name} takes {len(ports)} input(s), "
                                   f"got {len(inputs)}", origin)
        node = self.graph.add_node(spec, params, name=self.graph.unique_name(
            name or origin.name), trainable=trainable)
        self.origins[node.id] = origin
        for src, port in zip(inputs, ports):
            self.graph.connect(src.node, src.port, node.id, port)
        if weights:
            self.graph.weights[node.id] = {k: _array(v) for k, v in weights.items()}
        if shape is not None:
            self._expected[node.id] = tuple(shape)
        return Wire(node.id, node.output_ports()[0])

    def output(self, wire: Wire, name: str = "output") -> None:
        """Mark `wire` as a model output."""
        node = self.graph.add_node("io.Output", {}, name=self.graph.unique_name(name))
        self.graph.connect(wire.node, wire.port, node.id, "in")

    def set_param(self, wire: Wire, name: str, value: Any) -> None:
        """Change a param of an added node (e.g. a recurrent layer's output mode, decided by
        how the model uses it later)."""
        self._types.clear()  # downstream shapes may change
        try:
            self.graph.set_param(wire.node, name, value)
        except Exception as exc:  # noqa: BLE001
            raise ImportModelError(str(exc), self.origins.get(wire.node)) from None

    def type_of(self, wire: Wire):
        """The TensorType Studio infers at `wire` from the nodes added so far (front ends
        that decide on shapes while they build, such as ONNX and Keras, ask this); a shape
        error is an ImportModelError naming the node's origin."""
        from ..layers import ShapeError

        key = (wire.node, wire.port)
        if key not in self._types:
            node = self.graph.nodes[wire.node]
            ins = []
            for port in node.input_ports():
                edge = self.graph.edge_into(node.id, port)
                ins.append(self.type_of(Wire(edge.src, edge.src_port)))
            try:
                outs = node.spec.infer(node.spec.coerce_params(node.params), ins)
            except ShapeError as exc:
                raise ImportModelError(str(exc), self.origins.get(node.id)) from None
            for port, t in zip(node.output_ports(), outs):
                self._types[(wire.node, port)] = t
        return self._types[key]

    def expect_shape(self, wire: Wire, shape) -> None:
        """The per-sample shape the source produces at `wire` (replaces an earlier one)."""
        self._expected[wire.node] = tuple(shape)

    # the end -----------------------------------------------------------------------------
    def finish(self) -> Graph:
        """Simplify (simplify.py), validate, check every expected shape, lay out; returns
        the graph."""
        g = self.graph
        if not g.outputs():
            raise ImportModelError("the model returns no tensor")
        simplify(g, self._forget)
        report = validate(g)
        if not report.ok:
            issue = report.errors[0]
            origin = self.origins.get(issue.node_id) if issue.node_id else None
            raise ImportModelError(f"the imported graph is not valid: {issue.message}", origin)
        for nid, shape in self._expected.items():
            outs = report.out_types.get(nid)
            got = tuple(outs[0].shape) if outs else None
            if got is not None and got != shape:
                raise ImportModelError(f"Studio infers the shape {got}, the model produces "
                                       f"{shape}", self.origins.get(nid))
        layout(g)
        return g


    def _forget(self, node_id: str) -> None:
        self.origins.pop(node_id, None)
        self._expected.pop(node_id, None)


def _array(value: Any):
    """A numpy copy of a tensor or array (weights must not alias the source model)."""
    import numpy as np

    if hasattr(value, "detach"):
        return value.detach().cpu().numpy().copy()
    return np.array(value, copy=True)


def layout(graph: Graph, dx: float = 190.0, dy: float = 120.0) -> None:
    """Place nodes left to right by topological generation, each column centred on y=200."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from((e.src, e.dst) for e in graph.edges)
    rank = {nid: i for i, nid in enumerate(graph.nodes)}
    for col, generation in enumerate(nx.topological_generations(g)):
        generation = sorted(generation, key=rank.__getitem__)
        for row, nid in enumerate(generation):
            y = 200.0 + dy * (row - (len(generation) - 1) / 2)
            graph.set_position(nid, (60.0 + dx * col, y))
