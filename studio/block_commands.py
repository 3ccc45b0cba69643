"""Undo commands for blocks: make block, ungroup, add a block type (from the library).

Each is one undo step built from the small commands in `studio.commands`, so undo puts back
exactly what was there: node ids, names, params, wires, weights and their order.
"""
from __future__ import annotations

import copy

from engine.blockedit import Plan, plan_make_block, plan_ungroup
from engine.blocks import BlockType
from engine.graph import BLOCK_PREFIX, Graph
from engine.validate import Report
from engine.weights_lazy import drop_weights

from .commands import ConnectCommand, GraphCommand, MacroCommand, RemoveNodesCommand


class AddBlockTypeCommand(GraphCommand):
    """Add a block type to the project (it stays the same object across undo/redo)."""

    def __init__(self, graph: Graph, btype: BlockType):
        super().__init__(graph, f"Add block type {btype.name}")
        self.btype = btype

    def _redo(self) -> None:
        self.graph.add_block_type(self.btype)

    def _undo(self) -> None:
        self.graph.remove_block_type(self.btype.name)


class AddNodeDataCommand(GraphCommand):
    """Add a node from its dict form (with argument expressions and weights)."""

    def __init__(self, graph: Graph, data: dict, weights: dict | None = None):
        super().__init__(graph, f"Add {data['name']}")
        self.data = copy.deepcopy(data)
        self.weights = dict(weights or {})

    def _redo(self) -> None:
        self.graph.add_node_dict(copy.deepcopy(self.data))
        if self.weights:
            self.graph.blocks.root.weights[self.data["id"]] = dict(self.weights)

    def _undo(self) -> None:
        self.graph.remove_node(self.data["id"])
        drop_weights(self.graph.blocks.root.weights, self.data["id"])   # a lazy file unread


class SetExprCommand(GraphCommand):
    """Bind a param of a layer inside a block to an expression of the block's arguments
    (None unbinds it)."""

    def __init__(self, graph: Graph, node_id: str, name: str, expr: str | None):
        node = graph.node(node_id)
        super().__init__(graph, f"Bind {node.name}.{name}")
        self.node_id, self.name = node_id, name
        self.old, self.new = node.exprs.get(name), expr

    def _redo(self) -> None:
        self.graph.set_expr(self.node_id, self.name, self.new)

    def _undo(self) -> None:
        self.graph.set_expr(self.node_id, self.name, self.old)


class AddArgCommand(GraphCommand):
    """Add an argument to the block type whose body is `graph`."""

    def __init__(self, graph: Graph, arg):
        super().__init__(graph, f"Add argument {arg.name}")
        self.arg = arg

    def _redo(self) -> None:
        self.graph.owner.add_arg(self.arg)

    def _undo(self) -> None:
        self.graph.owner.remove_arg(self.arg.name)


def bind_command(graph: Graph, node_id: str, param: str, expr: str) -> MacroCommand:
    """Bind `param` of a layer inside a block to `expr`; names in it that are not yet
    arguments of the block become arguments, their default the param's current value."""
    from engine.argexpr import names_in, parse
    from engine.blocks import make_arg

    btype = graph.owner
    if btype is None:
        raise ValueError("open a block first: only layers inside a block take arguments")
    node = graph.node(node_id)
    spec_param = node.spec.param(param)
    expr = parse(expr)
    macro = MacroCommand(graph, f"Bind {node.name}.{param} to {expr}")
    known = {a.name for a in btype.args}
    for name in sorted(names_in(expr) - known):
        value = node.params[param]
        kind = spec_param.kind if spec_param.kind in ("int", "float", "bool", "choice",
                                                      "str") else "int"
        if kind == "int" and isinstance(value, list):
            value = value[0]
        macro.add(AddArgCommand(graph, make_arg(name, kind, value, f"Sets {node.name}."
                                                f"{param}.", choices=spec_param.choices
                                                if kind == "choice" else ())))
    macro.add(SetExprCommand(graph, node_id, param, expr))
    return macro


def plan_command(graph: Graph, plan: Plan, text: str) -> MacroCommand:
    """One undo step carrying out a make-block or ungroup plan."""
    macro = MacroCommand(graph, text)
    if plan.remove:
        macro.add(RemoveNodesCommand(graph, plan.remove))
    if plan.block_type is not None:
        macro.add(AddBlockTypeCommand(graph, plan.block_type))
    for new in plan.add:
        macro.add(AddNodeDataCommand(graph, new.data, new.weights))
    for e in plan.connect:
        macro.add(ConnectCommand(graph, e.src, e.src_port, e.dst, e.dst_port,
                                 allow_cycle=True))
    macro.plan = plan  # type: ignore[attr-defined]
    return macro


def make_block_command(graph: Graph, node_ids: list[str], type_name: str,
                       report: Report | None = None) -> MacroCommand:
    plan = plan_make_block(graph, node_ids, type_name, report)
    return plan_command(graph, plan, f"Make block {type_name}")


def ungroup_command(graph: Graph, instance_id: str, report: Report | None = None) \
        -> MacroCommand:
    name = graph.node(instance_id).name
    return plan_command(graph, plan_ungroup(graph, instance_id, report), f"Ungroup {name}")


def add_instance_command(graph: Graph, types: dict[str, dict], name: str,
                         pos: tuple[float, float]) -> MacroCommand:
    """Add an instance of block type `name` from a library file's `types` (the type and the
    types it uses; those already in the project with the same content are reused, others
    of the same name come in renamed)."""
    from engine.blocks import dependency_order

    macro = MacroCommand(graph, f"Add {name}")
    renamed: dict[str, str] = {}
    for tname in dependency_order(types):
        data = _renamed(types[tname], renamed)
        existing = graph.blocks.get(tname)
        if existing is not None and existing.to_dict() == data:
            continue
        new = tname
        i = 2
        while new in graph.blocks:
            new = f"{tname}{i}"
            i += 1
        renamed[tname] = new
        btype = BlockType.from_dict(new, data, graph.blocks)
        macro.add(AddBlockTypeCommand(graph, btype))
    final = renamed.get(name, name)
    nid = graph.new_id()
    macro.add(AddNodeDataCommand(graph, {
        "id": nid, "type": BLOCK_PREFIX + final, "name": graph.unique_name(final),
        "params": {}, "pos": [float(pos[0]), float(pos[1])], "trainable": True}))
    macro.node_id = nid  # type: ignore[attr-defined]
    return macro


def _renamed(data: dict, renamed: dict[str, str]) -> dict:
    data = copy.deepcopy(data)
    for nd in data.get("graph", {}).get("nodes", []):
        t = nd.get("type", "")
        if t.startswith(BLOCK_PREFIX) and t[len(BLOCK_PREFIX):] in renamed:
            nd["type"] = BLOCK_PREFIX + renamed[t[len(BLOCK_PREFIX):]]
    return data


__all__ = ["AddArgCommand", "AddBlockTypeCommand", "AddNodeDataCommand", "SetExprCommand",
           "add_instance_command", "bind_command", "make_block_command", "plan_command",
           "ungroup_command"]
