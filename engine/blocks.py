"""Block types: named sub-graphs with arguments, stored once per project, used as nodes.

A `BlockType` is a graph whose Input nodes are the block's input ports and whose Output nodes
are its output ports (in the order they were added), plus **arguments**: typed params such as
`planes` or `stride` that inner layers refer to by expression (`Node.exprs`). A block
instance is an ordinary node of type `"block:<name>"` whose params are the arguments and
`repeat` (N chained copies). `BlockSpec` makes an instance look like any layer to validation,
the summary and the inspector: it infers shapes by validating the body with the instance's
input types and arguments, and a problem inside is raised with its path (`[1]/conv2: ...`).
"""
from __future__ import annotations

import contextvars
import keyword
from dataclasses import dataclass, field
from typing import Any

from .graph import BLOCK_PREFIX, Graph, GraphError, GraphEvent, Node
from .layers import Explanation, LayerSpec, Param, ParamError, ShapeError, TensorType
from .validate import BlockError, Report, Validator, effective_params

ARG_KINDS = ("int", "float", "bool", "choice", "str")
RESERVED_ARGS = {"self", "repeat", "nn", "torch", "F", "super", "x", "math"}
RESERVED_TYPES = {"Model", "Module", "Sequential", "nn", "torch", "F"}
MAX_REPEAT = 64
MAX_DEPTH = 16
MAX_EXPANDED = 200_000  # layers of one instance with every block and repeat expanded

REPEAT = Param("repeat", "int", 1, "How many copies of the block run one after another "
               "(the output of one feeds the next).", min=1, max=MAX_REPEAT)

_depth = contextvars.ContextVar("block_depth", default=0)


def check_type_name(name: str) -> str:
    """A block type name is its Python class name: an identifier (Bottleneck, SEBlock)."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name in RESERVED_TYPES or name.startswith("_") or len(name) > 60:
        raise GraphError(f"{str(name)[:40]!r} cannot name a block type: use a Python class "
                         "name such as 'Bottleneck' (letters, digits, _)")
    return name


def make_arg(name: str, kind: str, default: Any, help: str = "", min: float | None = None,
             max: float | None = None, choices: tuple = ()) -> Param:
    """A block argument (a Param), checked: an identifier, a supported kind, a valid default."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name in RESERVED_ARGS or name.startswith("_"):
        raise ParamError(f"{str(name)[:40]!r} cannot name a block argument: use a Python "
                         "name such as 'channels'")
    if kind not in ARG_KINDS:
        raise ParamError(f"argument {name!r}: kind must be one of {', '.join(ARG_KINDS)}, "
                         f"received {kind!r}")
    if kind == "choice" and not choices:
        raise ParamError(f"argument {name!r}: a choice needs its choices")
    arg = Param(name, kind, None, str(help), min, max, tuple(choices))
    return Param(name, kind, arg.coerce(default), str(help), min, max, tuple(choices))


def arg_to_dict(arg: Param) -> dict:
    out = {"name": arg.name, "kind": arg.kind, "default": arg.default}
    if arg.help:
        out["help"] = arg.help
    for key in ("min", "max"):
        if getattr(arg, key) is not None:
            out[key] = getattr(arg, key)
    if arg.choices:
        out["choices"] = list(arg.choices)
    return out


def arg_from_dict(data: dict) -> Param:
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ParamError("a block argument must be an object with a name")
    return make_arg(data["name"], data.get("kind", "int"), data.get("default"),
                    data.get("help", ""), data.get("min"), data.get("max"),
                    tuple(data.get("choices") or ()))


@dataclass(eq=False)
class BlockType:
    """A named sub-graph with arguments. `graph.owner` is this object."""

    name: str
    graph: Graph
    args: list[Param] = field(default_factory=list)
    doc: str = ""

    def __post_init__(self) -> None:
        check_type_name(self.name)
        self.graph.owner = self
        self._spec: BlockSpec | None = None
        names = [a.name for a in self.args]
        if len(set(names)) != len(names):
            raise ParamError(f"block {self.name!r}: two arguments share a name")

    @property
    def spec(self) -> BlockSpec:
        if self._spec is None:
            self._spec = BlockSpec(self)
        return self._spec

    def changed(self) -> None:
        """Forget cached results: the body or the body of a block used inside it changed."""
        if self._spec is not None:
            self._spec.forget()

    def add_arg(self, arg: Param) -> None:
        """Add an argument (instances get its default); inner params may then refer to it."""
        if any(a.name == arg.name for a in self.args):
            raise ParamError(f"block {self.name!r} already has an argument {arg.name!r}")
        self.args.append(arg)
        for n in self._instances():
            n.params.setdefault(arg.name, arg.default)
        self.graph._emit(GraphEvent("reset"))

    def remove_arg(self, name: str) -> Param:
        """Remove an argument no inner param refers to; returns it (for undo)."""
        from .argexpr import names_in
        users = [n.name for n in self.graph.nodes.values()
                 if any(name in names_in(e) for e in n.exprs.values())]
        if users:
            raise ParamError(f"argument {name!r} is used by {users[0]!r}")
        arg = next(a for a in self.args if a.name == name)
        self.args.remove(arg)
        for n in self._instances():
            n.params.pop(name, None)
        self.graph._emit(GraphEvent("reset"))
        return arg

    def _instances(self) -> list[Node]:
        root = self.graph.blocks.root
        return [n for g in root.all_graphs() for n in g.nodes.values()
                if n.type == BLOCK_PREFIX + self.name]

    def input_nodes(self) -> list[Node]:
        return self.graph.inputs()

    def output_nodes(self) -> list[Node]:
        return self.graph.outputs()

    def default_args(self) -> dict:
        return {a.name: a.default for a in self.args}

    def uses(self) -> set[str]:
        return {n.type[len(BLOCK_PREFIX):] for n in self.graph.nodes.values() if n.is_block}

    def to_dict(self) -> dict:
        out = {"args": [arg_to_dict(a) for a in self.args], "graph": self.graph.to_dict()}
        if self.doc:
            out["doc"] = self.doc
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict, blocks: dict) -> BlockType:
        """Build from `to_dict()` output; the block types it uses must be in `blocks`."""
        args = [arg_from_dict(a) for a in data.get("args", [])]
        btype = cls(name, Graph(blocks), args, str(data.get("doc", "")))
        body = data.get("graph", {})
        for nd in body.get("nodes", []):
            btype.graph.add_node_dict(nd)
        for ed in body.get("edges", []):
            btype.graph.connect(ed["src"], ed["src_port"], ed["dst"], ed["dst_port"])
        return btype


def dependency_order(data: dict[str, dict]) -> list[str]:
    """Block type names so that each comes after the types it uses; GraphError on a cycle."""
    uses = {name: {nd.get("type", "")[len(BLOCK_PREFIX):]
                   for nd in (d.get("graph") or {}).get("nodes", [])
                   if isinstance(nd, dict) and str(nd.get("type", "")).startswith(BLOCK_PREFIX)}
            for name, d in data.items()}
    order: list[str] = []
    state: dict[str, int] = {}
    for root in sorted(uses):
        stack = [(root, iter(sorted(uses[root])))]
        state[root] = state.get(root, 0) or 1
        if state[root] == 2:
            continue
        while stack:
            name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[name] = 2
                order.append(name)
            elif nxt in uses and state.get(nxt) == 1:
                raise GraphError(f"block type {nxt!r} contains itself (through {name!r})")
            elif nxt in uses and not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(sorted(uses[nxt]))))
    return order


def add_block_types(graph: Graph, data: dict[str, dict]) -> None:
    """Add the block types of a `to_dict()["blocks"]` mapping to the model graph."""
    for name in dependency_order(data):
        graph.add_block_type(BlockType.from_dict(name, data[name], graph.blocks))


# -- the spec of an instance ------------------------------------------------------------------

@dataclass
class BlockRun:
    """One instance's inner validation: a report per repeat, the types between repeats."""

    reports: list[Report]
    ins: list[list[TensorType]]
    outs: list[TensorType]
    params: int
    layers: int


def _key(value: Any) -> Any:
    return tuple(_key(v) for v in value) if isinstance(value, (list, tuple)) else value


class BlockSpec(LayerSpec):
    """Makes instances of one block type behave like a layer type."""

    category = "Blocks"

    def __init__(self, btype: BlockType):
        self.btype = btype
        self._cache: dict[Any, BlockRun | BlockError] = {}
        self._ports: tuple[list[str], list[str]] | None = None

    def forget(self) -> None:
        self._cache.clear()
        self._ports = None

    @property
    def id(self) -> str:  # type: ignore[override]
        return BLOCK_PREFIX + self.btype.name

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.btype.name

    @property
    def doc(self) -> str:  # type: ignore[override]
        return self.btype.doc or f"Block {self.btype.name}"

    @property
    def params(self) -> tuple[Param, ...]:  # type: ignore[override]
        return (*self.btype.args, REPEAT)

    @property
    def formula(self) -> str:  # type: ignore[override]
        n = sum(1 for n in self.btype.graph.nodes.values() if n.spec.role == "layer")
        return f"a block of {n} layers (double-click to open it)"

    def _port_names(self) -> tuple[list[str], list[str]]:
        if self._ports is None:
            self._ports = ([n.name for n in self.btype.input_nodes()],
                           [n.name for n in self.btype.output_nodes()])
        return self._ports

    def input_ports(self, p):
        return list(self._port_names()[0])

    def output_ports(self, p):
        return list(self._port_names()[1])

    def check_params(self, p):
        if p.get("repeat", 1) > 1:
            ins, outs = self._port_names()
            if len(ins) != 1 or len(outs) != 1:
                raise ParamError(f"repeat={p['repeat']} needs a block with one input and one "
                                 f"output; {self.btype.name} has {len(ins)} and {len(outs)}")

    def run(self, p: dict, ins: list[TensorType]) -> BlockRun:
        """Validate the body for these arguments and input types (cached); BlockError."""
        key = (_key(tuple(sorted(p.items()))), tuple(ins))
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = self._run(p, ins)
            except BlockError as exc:
                hit = exc
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = hit
        if isinstance(hit, BlockError):
            raise hit
        return hit

    def _run(self, p: dict, ins: list[TensorType]) -> BlockRun:
        depth = _depth.get()
        if depth >= MAX_DEPTH:
            raise BlockError("", f"blocks are nested more than {MAX_DEPTH} deep")
        token = _depth.set(depth + 1)
        try:
            args = {a.name: p.get(a.name, a.default) for a in self.btype.args}
            repeat = p.get("repeat", 1)
            run = BlockRun([], [], list(ins), 0, 0)
            for r in range(repeat):
                run.ins.append(run.outs)
                report = Validator(self.btype.graph, listen=False, inputs=run.outs,
                                   args=args).validate()
                if not report.ok:
                    raise _first_error(self.btype.graph, report,
                                       f"[{r}]" if repeat > 1 else "")
                run.reports.append(report)
                run.outs = [report.in_types[o.id][0] for o in self.btype.output_nodes()]
                run.params += report.total_params
                run.layers += sum(_layers(self.btype.graph.nodes[n], report)
                                  for n in report.order)
                if run.layers > MAX_EXPANDED:
                    raise BlockError("", f"more than {MAX_EXPANDED} layers once expanded")
            return run
        finally:
            _depth.reset(token)

    def infer(self, p, ins):
        if not self.btype.output_nodes():
            raise ShapeError(f"block {self.btype.name!r} has no Output node")
        return list(self.run(p, ins).outs)

    def param_count(self, p, ins):
        return self.run(p, ins).params

    def flops(self, p, ins, outs):
        total = 0
        for report in self.run(p, ins).reports:
            for nid in report.order:
                node = self.btype.graph.nodes[nid]
                if nid in report.out_types and node.spec.role == "layer":
                    total += node.spec.flops(_params(node, report), report.in_types[nid],
                                             report.out_types[nid])
        return total

    def explain(self, p, ins, outs):
        run = self.run(p, ins)
        per = [r.total_params for r in run.reports]
        e = Explanation()
        e.shape.append(f"output {', '.join(map(str, outs))} after "
                       f"{len(run.reports)} × {self.btype.name}")
        e.params.append("params = " + " + ".join(map(str, per)) + f" = {run.params}"
                        if len(per) > 1 else f"params = {run.params} (sum of its layers)")
        return e

    def forward(self, p, attr, args, outs):
        return [f"{', '.join(outs)} = self.{attr}({', '.join(args)})"]


def _params(node: Node, report: Report) -> dict:
    return effective_params(node, report.args)


def _layers(node: Node, report: Report) -> int:
    if node.is_block and node.id in report.in_types:
        try:
            return node.spec.run(_params(node, report), report.in_types[node.id]).layers
        except (ShapeError, ParamError):
            return 1
    return 1


def _first_error(graph: Graph, report: Report, prefix: str) -> BlockError:
    issue = report.errors[0]
    if issue.node_id and issue.node_id in graph.nodes:
        name = graph.nodes[issue.node_id].name
        return BlockError(f"{prefix}/{name}{issue.path}", issue.cause or issue.message)
    return BlockError(prefix, issue.message)


__all__ = [
    "REPEAT",
    "BlockError",
    "BlockRun",
    "BlockSpec",
    "BlockType",
    "add_block_types",
    "arg_from_dict",
    "arg_to_dict",
    "check_type_name",
    "dependency_order",
    "make_arg",
]
