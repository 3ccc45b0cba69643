"""The graph document: nodes, ports, edges and params, with plain-callback change events.

Every mutation goes through a method here and emits one `GraphEvent`; the GUI's canvas and the
validator listen to these events. Nothing here imports Qt or torch. The pieces (Node, Edge,
GraphEvent, name rules) live in engine.graph_parts and are importable from here too.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from .graph_parts import (
    BLOCK_PREFIX,
    MAX_COORD,
    BlockTypes,
    Edge,
    GraphChange,
    GraphError,
    GraphEvent,
    Node,
    _position,
    block_spec,
    check_name,
    python_name,
)
from .layers import LayerSpec, ParamError, get_spec
from .weights_lazy import copy_weights, drop_weights


class Graph:
    """A directed graph of layer nodes. Each input port takes at most one edge."""

    def __init__(self, blocks: dict | None = None, owner: Any = None) -> None:
        #: block types by name: the model's graph owns this dict; block bodies share it
        self.blocks: BlockTypes = BlockTypes(self) if blocks is None else blocks
        self.owner = owner  # the BlockType whose body this graph is (None for the model)
        self._block_unsubscribe: dict[str, Callable[[], None]] = {}
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.weights: dict[str, dict[str, Any]] = {}  # node id -> tensors (not in JSON)
        self._into: dict[tuple[str, str], Edge] = {}  # (dst, dst_port) -> edge: O(1) lookups
        self._listeners: list[Callable[[GraphEvent], None]] = []
        self._ids = itertools.count(1)

    # events ------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[GraphEvent], None]) -> Callable[[], None]:
        """Call `fn(event)` after every change; returns a function that unsubscribes."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _emit(self, event: GraphEvent) -> None:
        for fn in list(self._listeners):
            fn(event)

    # queries -----------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node with id {node_id!r}") from None

    def by_name(self, name: str) -> Node:
        for n in self.nodes.values():
            if n.name == name:
                return n
        raise GraphError(f"no node named {name!r}")

    def in_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id]

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    def edge_into(self, node_id: str, port: str) -> Edge | None:
        if len(self._into) != len(self.edges):  # `edges` was edited directly: re-index
            self._into = {(e.dst, e.dst_port): e for e in self.edges}
        return self._into.get((node_id, port))

    def inputs(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.spec.role == "input"]

    def outputs(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.spec.role == "output"]

    def unique_name(self, base: str) -> str:
        """A free node name made from `base` (as a Python identifier: 'conv', 'conv1', ...)."""
        return self.free_names([python_name(base)])[0]

    def free_names(self, wanted: list[str]) -> list[str]:
        """Names for new nodes, one per wanted name and distinct from every node's and each
        other's (compared as Python identifiers): a free name is kept as given, a taken one
        becomes the next free 'stem<N>'."""
        taken = {python_name(n.name) for n in self.nodes.values()}
        out = []
        for name in wanted:
            base = python_name(name)
            cand = base
            if cand in taken:
                stem = base.rstrip("0123456789") or base
                cand = next(f"{stem}{i}" for i in itertools.count(1)
                            if f"{stem}{i}" not in taken)
            taken.add(cand)
            out.append(cand if cand != base else name)
        return out

    def new_id(self) -> str:
        while True:
            nid = f"n{next(self._ids)}"
            if nid not in self.nodes:
                return nid

    def would_create_cycle(self, src: str, dst: str) -> bool:
        """True if an edge src -> dst closes a directed cycle."""
        return bool(self.cycle_path(src, dst))

    def cycle_path(self, src: str, dst: str) -> list[str]:
        """The node ids dst -> ... -> src of the cycle an edge src -> dst would close (with
        dst again at the end), or [] if it closes none."""
        if src == dst:
            return [src, src]
        parent: dict[str, str | None] = {dst: None}
        stack = [dst]
        while stack:
            cur = stack.pop()
            if cur == src:
                path = [cur]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1] + [dst]
            for e in self.edges:
                if e.src == cur and e.dst not in parent:
                    parent[e.dst] = cur
                    stack.append(e.dst)
        return []

    # mutations -----------------------------------------------------------------------
    def add_node(self, layer_type: str, params: dict | None = None, name: str | None = None,
                 pos: tuple[float, float] = (0.0, 0.0), node_id: str | None = None,
                 trainable: bool = True) -> Node:
        """Create a node of `layer_type` (defaults overlaid with `params`) and add it."""
        spec = self.spec_for(layer_type)
        node = Node(id=node_id or self.new_id(), type=layer_type,
                    name=check_name(name) if name else self.unique_name(spec.name),
                    params=spec.coerce_params(params), trainable=trainable,
                    pos=_position(pos))
        self.insert_node(node)
        return node

    def spec_for(self, layer_type: str) -> LayerSpec:
        """The spec of a layer type or of a block type of this project ("block:<name>")."""
        if layer_type.startswith(BLOCK_PREFIX):
            return block_spec(self.blocks, layer_type)
        return get_spec(layer_type)

    def insert_node(self, node: Node) -> None:
        """Add an existing Node object (undo uses this to put back exactly what was removed)."""
        if node.id in self.nodes:
            raise GraphError(f"a node with id {node.id!r} already exists")
        if node.is_block and self.owner is not None:
            inner = node.type[len(BLOCK_PREFIX):]
            if inner == self.owner.name or self.owner.name in self.block_closure(inner):
                raise GraphError(f"block {self.owner.name!r} cannot contain {inner!r}: "
                                 f"a block cannot contain itself")
        if node.exprs and self.owner is None:
            raise GraphError(f"'{node.name}' refers to block arguments but is not inside a "
                             "block")
        node.blocks = self.blocks
        self.nodes[node.id] = node
        self._emit(GraphEvent("node_added", node.id))

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and its edges; returns both so the removal can be undone."""
        node = self.node(node_id)
        removed = [e for e in self.edges if node_id in (e.src, e.dst)]
        for e in removed:
            self.disconnect(e)
        del self.nodes[node_id]
        drop_weights(self.weights, node_id)   # a lazy file stays unread
        self._emit(GraphEvent("node_removed", node_id, old=node))
        return node, removed

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        """Wire an output port to an input port. Refuses unknown ports and a taken input."""
        s, d = self.node(src), self.node(dst)
        if src_port not in s.output_ports():
            raise GraphError(f"'{s.name}' has no output port {src_port!r}")
        if dst_port not in d.input_ports():
            raise GraphError(f"'{d.name}' has no input port {dst_port!r}")
        if src == dst:
            raise GraphError(f"cannot connect '{s.name}' to itself")
        if self.edge_into(dst, dst_port):
            raise GraphError(f"input {dst_port!r} of '{d.name}' is already connected")
        edge = Edge(src, src_port, dst, dst_port)
        self.edges.append(edge)
        self._into[(dst, dst_port)] = edge
        self._emit(GraphEvent("edge_added", dst, edge=edge))
        return edge

    def disconnect(self, edge: Edge) -> None:
        try:
            self.edges.remove(edge)
        except ValueError:
            raise GraphError(f"no such edge {edge}") from None
        if self._into.get((edge.dst, edge.dst_port)) == edge:
            del self._into[(edge.dst, edge.dst_port)]
        self._emit(GraphEvent("edge_removed", edge.dst, edge=edge))

    def checked_param(self, node_id: str, name: str, value: Any) -> Any:
        """`value` in the canonical form the node's spec keeps, after the spec's checks of it
        and of its combination with the node's other params; ParamError names the reason."""
        node = self.node(node_id)
        canonical = node.spec.param(name).coerce(value)
        node.spec.check_params({**node.params, name: canonical})
        return canonical

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Change one param (coerced and checked by the spec; ParamError if refused)."""
        node = self.node(node_id)
        spec = node.spec
        new = dict(node.params)
        new[name] = self.checked_param(node_id, name, value)
        old = node.params.get(name)
        if old == new[name] and type(old) is type(new[name]):
            return
        ins, outs = spec.input_ports(new), spec.output_ports(new)
        for e in self.edges:  # a wire on a vanishing port could be neither saved nor undone
            port = e.dst_port if e.dst == node_id and e.dst_port not in ins else \
                e.src_port if e.src == node_id and e.src_port not in outs else None
            if port is not None:
                raise GraphError(f"'{node.name}': {name}={new[name]!r} would remove port "
                                 f"{port!r}, which is connected: disconnect it first")
        structural = (ins, outs) != (node.input_ports(), node.output_ports())
        node.params = new
        self._emit(GraphEvent("param_changed", node_id, name=name, old=old, new=new[name],
                              edge=None))
        if structural:
            self._emit(GraphEvent("reset", node_id))

    def set_expr(self, node_id: str, name: str, expr: str | None) -> None:
        """Bind a param of a node inside a block type to an expression of the block's
        arguments (`None` unbinds it; the param's stored value then applies again)."""
        node = self.node(node_id)
        if self.owner is None:
            raise GraphError("only layers inside a block can refer to block arguments")
        node.spec.param(name)
        if expr is not None:
            from .argexpr import parse
            expr = parse(expr, {a.name for a in self.owner.args})
        old = node.exprs.get(name)
        if old == expr:
            return
        new = dict(node.exprs)
        if expr is None:
            new.pop(name, None)
        else:
            new[name] = expr
        node.exprs = new
        self._emit(GraphEvent("param_changed", node_id, name=name, old=old, new=expr))

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        name = check_name(name.strip())
        if not name:
            raise GraphError("a node name cannot be empty")
        clash = [n for n in self.nodes.values()
                 if n.id != node_id and python_name(n.name) == python_name(name)]
        if clash:
            raise GraphError(f"the name {name!r} is already used by another node")
        old, node.name = node.name, name
        self._emit(GraphEvent("node_renamed", node_id, old=old, new=name))

    def set_position(self, node_id: str, pos: tuple[float, float]) -> None:
        node = self.node(node_id)
        old, node.pos = node.pos, _position(pos)
        self._emit(GraphEvent("node_moved", node_id, old=old, new=node.pos))

    def set_trainable(self, node_id: str, trainable: bool) -> None:
        node = self.node(node_id)
        old, node.trainable = node.trainable, bool(trainable)
        self._emit(GraphEvent("trainable_changed", node_id, old=old, new=node.trainable))

    # block types ---------------------------------------------------------------------------
    def block_closure(self, name: str) -> set[str]:
        """The block types used inside type `name`, directly or nested deeper."""
        seen: set[str] = set()
        stack = [name]
        while stack:
            btype = self.blocks.get(stack.pop())
            for inner in (btype.uses() if btype is not None else ()):
                if inner not in seen:
                    seen.add(inner)
                    stack.append(inner)
        return seen

    def containers_of(self, name: str) -> set[str]:
        """`name` and every block type that uses it, directly or nested deeper."""
        out = {name}
        changed = True
        while changed:
            changed = False
            for other, btype in self.blocks.items():
                if other not in out and btype.uses() & out:
                    out.add(other)
                    changed = True
        return out

    def add_block_type(self, btype: Any) -> None:
        """Add a block type (a `blocks.BlockType`) to the project (from any of its graphs)."""
        if self.blocks.root is not self:
            self.blocks.root.add_block_type(btype)
            return
        if btype.name in self.blocks:
            raise GraphError(f"a block type named {btype.name!r} already exists")
        btype.graph.blocks = self.blocks
        for n in btype.graph.nodes.values():
            n.blocks = self.blocks
        self.blocks[btype.name] = btype
        self._watch(btype)
        self._emit(GraphEvent("block_added", name=btype.name, new=btype))

    def remove_block_type(self, name: str) -> Any:
        """Remove an unused block type; returns it (for undo)."""
        if self.blocks.root is not self:
            return self.blocks.root.remove_block_type(name)
        btype = self.blocks.get(name)
        if btype is None:
            raise GraphError(f"no block type named {name!r}")
        users = [n.name for g in self.all_graphs() for n in g.nodes.values()
                 if n.type == BLOCK_PREFIX + name]
        if users:
            raise GraphError(f"block type {name!r} is used by {users[0]!r}: delete its "
                             "instances first")
        self._block_unsubscribe.pop(name)()
        del self.blocks[name]
        self._emit(GraphEvent("block_removed", name=name, old=btype))
        return btype

    def all_graphs(self) -> list[Graph]:
        """The model graph and the body of every block type."""
        return [self, *(b.graph for b in self.blocks.values())]

    def _watch(self, btype: Any) -> None:
        def forward(ev: GraphEvent) -> None:
            for name in self.containers_of(btype.name):
                self.blocks[name].changed()
            self._emit(GraphEvent("block_changed", name=btype.name, old=ev))
        self._block_unsubscribe[btype.name] = btype.graph.subscribe(forward)

    def clear(self) -> None:
        for name in list(self._block_unsubscribe):
            self._block_unsubscribe.pop(name)()
        self.blocks.clear()
        self.nodes.clear()
        self.edges.clear()
        self._into.clear()
        self.weights.clear()
        self._emit(GraphEvent("reset"))

    # serialization -----------------------------------------------------------------
    def to_dict(self) -> dict:
        out = {"nodes": [n.to_dict() for n in self.nodes.values()],
               "edges": [e.to_dict() for e in self.edges]}
        if self.owner is None and self.blocks:
            out["blocks"] = {name: b.to_dict() for name, b in sorted(self.blocks.items())}
        return out

    @classmethod
    def from_dict(cls, data: dict, blocks: dict | None = None, owner: Any = None) -> Graph:
        """Build a graph from `to_dict()` output. Raises GraphError/ParamError on bad content."""
        g = cls(blocks, owner)
        if data.get("blocks"):
            from .blocks import add_block_types
            add_block_types(g, data["blocks"])
        for nd in data.get("nodes", []):
            g.add_node_dict(nd)
        for ed in data.get("edges", []):
            g.connect(ed["src"], ed["src_port"], ed["dst"], ed["dst_port"])
        return g

    def add_node_dict(self, nd: dict) -> Node:
        """Add a node from its `Node.to_dict()` form (params with argument expressions are
        checked by the block type, not here)."""
        spec = self.spec_for(nd["type"])
        exprs = dict(nd.get("expr") or {})
        for pname in exprs:
            spec.param(pname)  # ParamError if the layer has no such param
        params = {k: v for k, v in nd.get("params", {}).items() if k not in exprs}
        node = Node(id=nd["id"], type=nd["type"], name=check_name(nd["name"]),
                    params=spec.coerce_params(params), trainable=nd.get("trainable", True),
                    pos=_position(tuple(nd.get("pos", (0.0, 0.0)))), exprs=exprs)
        for pname in exprs:  # keep the stored value for display; the expression rules
            if pname in nd.get("params", {}):
                try:
                    node.params[pname] = spec.param(pname).coerce(nd["params"][pname])
                except ParamError:
                    pass
        self.insert_node(node)
        return node

    def copy(self) -> Graph:
        g = Graph.from_dict(self.to_dict())
        g.weights = copy_weights(self.weights)   # a lazy file stays unread
        return g

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes, {len(self.edges)} edges>"


__all__ = ["BLOCK_PREFIX", "MAX_COORD", "Edge", "Graph", "GraphChange", "GraphError", "GraphEvent",
           "Node", "ParamError", "block_spec", "check_name", "python_name"]
