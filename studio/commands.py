"""Undo commands: every edit of the graph document is one QUndoCommand.

Commands change only the engine `Graph` (the canvas and panels follow its events). Each undo
restores exactly what was there before: the same node ids, names, params, edges, weights and
even the order of nodes and edges, so that the saved JSON after undo is byte-identical.

`execute()` applies a command once and raises (GraphError, ParamError) without leaving a
trace if the edit is refused; `Document.push` uses it so that a refused edit never reaches the
undo stack.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph import Edge, Graph, GraphError, Node
from engine.weights_lazy import peek_weights, restore_weights

NODES_MIME = "application/x-studio-nodes"
LAYER_MIME = "application/x-studio-layer"


class _Order:
    """A snapshot of the order of nodes and edges, re-applied after an undo."""

    def __init__(self, graph: Graph):
        self.nodes = list(graph.nodes)
        self.edges = list(graph.edges)

    def restore(self, graph: Graph) -> None:
        if list(graph.nodes) != self.nodes and set(graph.nodes) == set(self.nodes):
            nodes = graph.nodes
            reordered = {nid: nodes[nid] for nid in self.nodes}
            nodes.clear()
            nodes.update(reordered)
        if graph.edges != self.edges and set(graph.edges) == set(self.edges):
            graph.edges[:] = self.edges


class GraphCommand(QUndoCommand):
    """Base class: subclasses implement `_redo` and `_undo`."""

    def __init__(self, graph: Graph, text: str):
        super().__init__(text)
        self.graph = graph
        self._skip_redo = False
        self._order: _Order | None = None

    def execute(self) -> None:
        """Apply now (before the stack's push); the push's redo() is then skipped."""
        self._apply()
        self._skip_redo = True

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._apply()

    def _apply(self) -> None:
        self._order = _Order(self.graph)
        self._redo()

    def undo(self) -> None:
        self._undo()
        if self._order is not None:
            self._order.restore(self.graph)

    def _redo(self) -> None:
        raise NotImplementedError

    def _undo(self) -> None:
        raise NotImplementedError


class AddNodeCommand(GraphCommand):
    """Add one layer node. The id (and a unique name) are chosen at construction."""

    def __init__(self, graph: Graph, layer_type: str, params: dict | None = None,
                 pos: tuple[float, float] = (0.0, 0.0), name: str | None = None,
                 node_id: str | None = None, trainable: bool = True):
        spec = graph.spec_for(layer_type)
        super().__init__(graph, f"Add {spec.name}")
        self.layer_type = layer_type
        self.params = spec.coerce_params(params)
        self.pos = (float(pos[0]), float(pos[1]))
        self.node_id = node_id or graph.new_id()
        self.name = name or graph.unique_name(spec.name)
        self.trainable = trainable

    def _redo(self) -> None:
        self.graph.add_node(self.layer_type, copy.deepcopy(self.params), name=self.name,
                            pos=self.pos, node_id=self.node_id, trainable=self.trainable)

    def _undo(self) -> None:
        self.graph.remove_node(self.node_id)


class RemoveNodesCommand(GraphCommand):
    """Remove nodes with their wires (and weights); undo puts back exactly the same."""

    def __init__(self, graph: Graph, node_ids: Iterable[str]):
        ids = [nid for nid in dict.fromkeys(node_ids) if nid in graph.nodes]
        super().__init__(graph, f"Delete {len(ids)} node{'s' if len(ids) != 1 else ''}")
        self.node_ids = ids
        self._removed: list[tuple[Node, list[Edge], dict | None]] = []

    def _redo(self) -> None:
        self._removed = []
        for nid in self.node_ids:
            weights = peek_weights(self.graph.weights, nid)   # a lazy file stays unread
            node, edges = self.graph.remove_node(nid)
            self._removed.append((node, edges, weights))

    def _undo(self) -> None:
        for node, _edges, weights in reversed(self._removed):
            self.graph.insert_node(node)
            restore_weights(self.graph.weights, node.id, weights)
        restored = set()
        for _node, edges, _w in self._removed:
            for e in edges:
                if e not in restored:
                    restored.add(e)
                    self.graph.connect(e.src, e.src_port, e.dst, e.dst_port)


class ConnectCommand(GraphCommand):
    """Wire src.src_port -> dst.dst_port. Refuses a taken input and a cycle."""

    def __init__(self, graph: Graph, src: str, src_port: str, dst: str, dst_port: str,
                 allow_cycle: bool = False):
        super().__init__(graph, "Connect")
        self.edge = Edge(src, src_port, dst, dst_port)
        self.allow_cycle = allow_cycle

    def _redo(self) -> None:
        e = self.edge
        if not self.allow_cycle and self.graph.would_create_cycle(e.src, e.dst):
            raise GraphError(f"connecting '{self.graph.node(e.src).name}' to "
                             f"'{self.graph.node(e.dst).name}' would close a cycle: "
                             f"{cycle_names(self.graph, e.src, e.dst)}")
        self.graph.connect(e.src, e.src_port, e.dst, e.dst_port)

    def _undo(self) -> None:
        self.graph.disconnect(self.edge)


def cycle_names(graph: Graph, src: str, dst: str) -> str:
    """'a → b → c → a': the names along the cycle an edge src -> dst would close."""
    return " → ".join(graph.nodes[nid].name for nid in graph.cycle_path(src, dst))


class DisconnectCommand(GraphCommand):
    def __init__(self, graph: Graph, edge: Edge):
        super().__init__(graph, "Disconnect")
        self.edge = edge

    def _redo(self) -> None:
        self.graph.disconnect(self.edge)

    def _undo(self) -> None:
        e = self.edge
        self.graph.connect(e.src, e.src_port, e.dst, e.dst_port)


class SetParamCommand(GraphCommand):
    """Change one param; consecutive edits of the same param of the same node merge."""

    MERGE_ID = 0x5E7

    def __init__(self, graph: Graph, node_id: str, name: str, value: Any):
        node = graph.node(node_id)
        super().__init__(graph, f"Set {node.name}.{name}")
        self.node_id, self.name = node_id, name
        self.old = copy.deepcopy(node.params.get(name))
        self.new = value

    def _redo(self) -> None:
        self.graph.set_param(self.node_id, self.name, copy.deepcopy(self.new))

    def _undo(self) -> None:
        node = self.graph.node(self.node_id)
        if node.params.get(self.name) != self.old:
            self.graph.set_param(self.node_id, self.name, copy.deepcopy(self.old))

    def id(self) -> int:
        return self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or \
                (other.node_id, other.name) != (self.node_id, self.name):
            return False
        self.new = other.new
        return True


class RenameCommand(GraphCommand):
    def __init__(self, graph: Graph, node_id: str, name: str):
        old = graph.node(node_id).name
        super().__init__(graph, f"Rename {old} to {name}")
        self.node_id, self.old, self.new = node_id, old, name

    def _redo(self) -> None:
        self.graph.rename(self.node_id, self.new)

    def _undo(self) -> None:
        self.graph.rename(self.node_id, self.old)


class MoveNodesCommand(GraphCommand):
    """Move nodes: {node_id: (old_pos, new_pos)}. One command per drag."""

    def __init__(self, graph: Graph, moves: dict[str, tuple[tuple, tuple]],
                 text: str | None = None):
        n = len(moves)
        super().__init__(graph, text or f"Move {n} node{'s' if n != 1 else ''}")
        self.moves = {nid: (tuple(map(float, o)), tuple(map(float, w)))
                      for nid, (o, w) in moves.items()}

    def _redo(self) -> None:
        for nid, (_old, new) in self.moves.items():
            self.graph.set_position(nid, new)

    def _undo(self) -> None:
        for nid, (old, _new) in self.moves.items():
            self.graph.set_position(nid, old)


class SetTrainableCommand(GraphCommand):
    def __init__(self, graph: Graph, node_id: str, trainable: bool):
        node = graph.node(node_id)
        super().__init__(graph, f"{'Unfreeze' if trainable else 'Freeze'} {node.name}")
        self.node_id, self.old, self.new = node_id, node.trainable, bool(trainable)

    def _redo(self) -> None:
        self.graph.set_trainable(self.node_id, self.new)

    def _undo(self) -> None:
        self.graph.set_trainable(self.node_id, self.old)


class SetWeightsCommand(GraphCommand):
    """Replace the model's weights (a run's trained or a run folder's saved ones)."""

    def __init__(self, graph: Graph, weights: dict, text: str):
        super().__init__(graph, text)
        self.old, self.new = graph.weights, weights

    def _redo(self) -> None:
        self.graph.weights = self.new

    def _undo(self) -> None:
        self.graph.weights = self.old


class MacroCommand(GraphCommand):
    """A compound edit made of child commands, applied in order and undone in reverse.
    If a child is refused, the children already applied are undone and the error raised."""

    def __init__(self, graph: Graph, text: str, children: list[GraphCommand] | None = None):
        super().__init__(graph, text)
        self.children: list[GraphCommand] = list(children or [])

    def add(self, command: GraphCommand) -> GraphCommand:
        self.children.append(command)
        return command

    def _redo(self) -> None:
        done: list[GraphCommand] = []
        try:
            for c in self.children:
                c._apply()
                done.append(c)
        except Exception:
            for c in reversed(done):
                c.undo()
            raise

    def _undo(self) -> None:
        for c in reversed(self.children):
            c.undo()


# -- compound edits ---------------------------------------------------------------------------

def nodes_to_clip(graph: Graph, node_ids: Iterable[str]) -> dict:
    """The clipboard payload for a selection: its nodes and the wires between them."""
    ids = [nid for nid in graph.nodes if nid in set(node_ids)]
    chosen = set(ids)
    return {"format": "studio-nodes", "version": 1,
            "nodes": [graph.nodes[nid].to_dict() for nid in ids],
            "edges": [e.to_dict() for e in graph.edges if e.src in chosen and e.dst in chosen]}


def paste_command(graph: Graph, clip: dict, offset: tuple[float, float] = (40.0, 40.0),
                  text: str = "Paste") -> MacroCommand:
    """Add copies of the clipboard nodes (new ids and names) and their internal wires.
    The ids of the new nodes are in `command.new_ids` (clipboard id -> new id)."""
    if not isinstance(clip, dict) or not isinstance(clip.get("nodes"), list):
        raise GraphError("the clipboard does not hold Studio nodes")
    macro = MacroCommand(graph, text)
    nodes = clip["nodes"]
    names = graph.free_names([str(nd.get("name", nd.get("type", "node"))) for nd in nodes])
    mapping: dict[str, str] = {}
    reserved: set[str] = set()
    for nd, name in zip(nodes, names):
        nid = graph.new_id()
        while nid in reserved:
            nid = graph.new_id()
        reserved.add(nid)
        mapping[str(nd["id"])] = nid
        x, y = nd.get("pos", (0.0, 0.0))
        macro.add(AddNodeCommand(graph, nd["type"], nd.get("params", {}),
                                 (float(x) + offset[0], float(y) + offset[1]), name=name,
                                 node_id=nid, trainable=bool(nd.get("trainable", True))))
    for ed in clip.get("edges", []):
        if ed.get("src") in mapping and ed.get("dst") in mapping:
            macro.add(ConnectCommand(graph, mapping[ed["src"]], ed["src_port"],
                                     mapping[ed["dst"]], ed["dst_port"]))
    macro.new_ids = mapping  # type: ignore[attr-defined]
    return macro


def insert_on_wire_command(graph: Graph, edge: Edge, layer_type: str | None = None,
                           pos: tuple[float, float] = (0.0, 0.0), node_id: str | None = None,
                           params: dict | None = None) -> MacroCommand:
    """Put a node into a wire: src -> new -> dst. Either a new layer (`layer_type`) or an
    existing, unconnected node (`node_id`)."""
    macro = MacroCommand(graph, "Insert on wire")
    if node_id is None:
        if layer_type is None:
            raise GraphError("insert_on_wire_command needs a layer type or a node id")
        add = macro.add(AddNodeCommand(graph, layer_type, params, pos))
        node_id = add.node_id
        spec = graph.spec_for(layer_type)
        ins = spec.input_ports(add.params)
        outs = spec.output_ports(add.params)
    else:
        node = graph.node(node_id)
        ins, outs = node.input_ports(), node.output_ports()
    if not ins or not outs:
        raise GraphError("only a layer with an input and an output can be put into a wire")
    macro.add(DisconnectCommand(graph, edge))
    macro.add(ConnectCommand(graph, edge.src, edge.src_port, node_id, ins[0]))
    macro.add(ConnectCommand(graph, node_id, outs[0], edge.dst, edge.dst_port))
    macro.node_id = node_id  # type: ignore[attr-defined]
    return macro


def align_command(graph: Graph, node_ids: list[str], axis: str) -> MoveNodesCommand:
    """Align nodes: axis 'left' (same x), 'top' (same y), 'hcenter', 'vcenter'."""
    nodes = [graph.node(nid) for nid in node_ids]
    if axis in ("left", "hcenter"):
        xs = [n.pos[0] for n in nodes]
        x = min(xs) if axis == "left" else sum(xs) / len(xs)
        moves = {n.id: (n.pos, (x, n.pos[1])) for n in nodes}
    elif axis in ("top", "vcenter"):
        ys = [n.pos[1] for n in nodes]
        y = min(ys) if axis == "top" else sum(ys) / len(ys)
        moves = {n.id: (n.pos, (n.pos[0], y)) for n in nodes}
    else:
        raise ValueError(f"unknown alignment {axis!r}")
    return MoveNodesCommand(graph, moves, text=f"Align {axis}")


def layout_positions(graph: Graph, dx: float = 260.0, dy: float = 150.0) -> dict:
    """Layered left-to-right layout: columns are topological generations (cycles broken)."""
    import networkx as nx

    dg = nx.DiGraph()
    dg.add_nodes_from(graph.nodes)
    for e in graph.edges:
        dg.add_edge(e.src, e.dst)
    if not nx.is_directed_acyclic_graph(dg):
        cond = nx.condensation(dg)
        members = cond.graph["mapping"]
        gens = {}
        for level, layer in enumerate(nx.topological_generations(cond)):
            for c in layer:
                gens[c] = level
        level_of = {nid: gens[members[nid]] for nid in graph.nodes}
        layers: dict[int, list[str]] = {}
        for nid in graph.nodes:
            layers.setdefault(level_of[nid], []).append(nid)
        generations = [layers[k] for k in sorted(layers)]
    else:
        order = {nid: i for i, nid in enumerate(graph.nodes)}
        generations = [sorted(g, key=order.get) for g in nx.topological_generations(dg)]
    pos = {}
    for col, layer in enumerate(generations):
        top = -(len(layer) - 1) * dy / 2
        for row, nid in enumerate(layer):
            pos[nid] = (col * dx, top + row * dy)
    return pos


def auto_layout_command(graph: Graph, node_ids: list[str] | None = None) -> MoveNodesCommand:
    pos = layout_positions(graph)
    ids = node_ids or list(graph.nodes)
    moves = {nid: (graph.nodes[nid].pos, pos[nid]) for nid in ids
             if tuple(graph.nodes[nid].pos) != tuple(pos[nid])}
    return MoveNodesCommand(graph, moves, text="Auto layout")


__all__ = [
    "LAYER_MIME",
    "NODES_MIME",
    "AddNodeCommand",
    "ConnectCommand",
    "DisconnectCommand",
    "GraphCommand",
    "MacroCommand",
    "MoveNodesCommand",
    "RemoveNodesCommand",
    "RenameCommand",
    "SetParamCommand",
    "SetTrainableCommand",
    "align_command",
    "auto_layout_command",
    "cycle_names",
    "insert_on_wire_command",
    "layout_positions",
    "nodes_to_clip",
    "paste_command",
]
