"""What validation finds: a `Report` of per-node types and parameter counts, and the `Issue`s
(each naming the node, the port and the cause, with a one-parameter `Fix` when one is known).
Made by engine.validate."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .graph import Edge, Graph, Node
from .layers import TensorType


@dataclass(frozen=True)
class Fix:
    """A one-parameter repair of an issue: set `param` of node `node_id` to `value`
    (a list value is stored as a tuple); `label` is what a button says ("set shape to (4,)")."""

    node_id: str
    param: str
    value: Any
    label: str


@dataclass(frozen=True)
class Issue:
    """One problem. kind: cycle | unconnected | port | shape | unreachable | dangling |
    no_input | no_output | internal | size | data (the model does not fit the dataset:
    engine.fit). severity: error | warning. `fix`, when known, repairs it with one parameter
    edit."""

    kind: str
    message: str
    node_id: str | None = None
    port: str | None = None
    severity: str = "error"
    nodes: tuple[str, ...] = ()  # all nodes involved (a cycle's members)
    path: str = ""   # for a problem inside a block instance: where, e.g. "[1]/conv2"
    cause: str = ""  # the message without the node's label (what a block path is joined to)
    fix: Fix | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = f"[{self.port}] " if self.port else ""
        return f"{self.severity}: {where}{self.message}"


@dataclass
class Report:
    """Result of validation: per-node types and parameter counts, and the issues found."""

    order: list[str] = field(default_factory=list)
    out_types: dict[str, list[TensorType]] = field(default_factory=dict)
    in_types: dict[str, list[TensorType]] = field(default_factory=dict)
    param_counts: dict[str, int] = field(default_factory=dict)
    node_issues: dict[str, list[Issue]] = field(default_factory=dict)
    graph_issues: list[Issue] = field(default_factory=list)
    args: dict | None = None  # the block arguments a block body was validated with
    #: bumped by each validation that may have changed something; `changed` names the nodes
    #: whose types, parameter count or issues differ from the previous version (None: any)
    version: int = field(default=0, compare=False)
    changed: set[str] | None = field(default=None, compare=False)
    #: False while a param edit's walk is only partly done (engine.validate: `limit`): the
    #: nodes past it still show their results from before the edit, and checks wait
    complete: bool = field(default=True, compare=False)

    @property
    def issues(self) -> list[Issue]:
        out = list(self.graph_issues)
        for nid in self.node_issues:
            out.extend(self.node_issues[nid])
        return out

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(self.param_counts.values())

    def issues_for(self, node_id: str) -> list[Issue]:
        return self.node_issues.get(node_id, [])

    def edge_type(self, edge: Edge, graph: Graph) -> TensorType | None:
        """The tensor type carried by a wire, or None if it could not be inferred."""
        types = self.out_types.get(edge.src)
        if not types:
            return None
        ports = graph.nodes[edge.src].output_ports()
        return types[ports.index(edge.src_port)] if edge.src_port in ports else None

    def text(self) -> str:
        return "\n".join(str(i) for i in self.issues) or "ok"


def label(node: Node) -> str:
    return f"{node.spec.name} '{node.name}'"
