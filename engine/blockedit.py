"""Make block and Ungroup, as plans: what to remove, add and wire (the GUI turns a plan into
undoable commands; `apply_*` carries one out directly for scripts and tests).

Make block: the selected nodes become the body of a new block type; every wire cut at the
selection's border becomes a port (one Input per distinct source feeding the selection, one
Output per distinct selection output used outside), and one instance takes their place.
Ungroup: an instance (all its repeats) is replaced by copies of its body's layers, with the
argument expressions computed, wired in place of the instance; weights move along.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .blockcode import inner_attrs
from .blocks import BlockType, check_type_name
from .graph import BLOCK_PREFIX, Edge, Graph, GraphError, python_name
from .validate import Report, effective_params, validate


@dataclass
class NewNode:
    """A node to add: its `to_dict()` form plus its weights (tensor name -> array)."""

    data: dict
    weights: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    remove: list[str]                   # node ids to remove (with their wires)
    add: list[NewNode]                  # nodes to add, in order
    connect: list[Edge]                 # wires to make afterwards
    block_type: BlockType | None = None  # a new block type to add first
    instance_id: str | None = None


def plan_make_block(graph: Graph, node_ids: list[str], type_name: str,
                    report: Report | None = None, ports: tuple[str, str] = ("in", "out")) \
        -> Plan:
    """Turn the nodes `node_ids` of `graph` into a block type `type_name` and one instance."""
    check_type_name(type_name)
    if type_name in graph.blocks:
        raise GraphError(f"a block type named {type_name!r} already exists")
    chosen = [nid for nid in graph.nodes if nid in set(node_ids)]
    if not chosen:
        raise GraphError("select the layers to put into the block first")
    for nid in chosen:
        if graph.nodes[nid].spec.role != "layer":
            raise GraphError(f"'{graph.nodes[nid].name}' is an Input or Output of the model: "
                             "select only layers to make a block")
    report = report or validate(graph)
    inside = set(chosen)
    body = Graph(graph.blocks)
    args = list(graph.owner.args) if graph.owner is not None else []  # for their expressions
    btype = BlockType(type_name, body, args, "")
    xs = [graph.nodes[n].pos[0] for n in chosen]
    ys = [graph.nodes[n].pos[1] for n in chosen]
    left, top = min(xs), min(ys)
    for nid in chosen:
        nd = graph.nodes[nid].to_dict()
        nd["pos"] = [nd["pos"][0] - left + 260.0, nd["pos"][1] - top]
        body.add_node_dict(nd)
    sources: list[tuple[str, str]] = []
    connect: list[Edge] = []
    inner_edges = []
    for e in graph.edges:
        if e.src in inside and e.dst in inside:
            inner_edges.append(e)
        elif e.dst in inside:
            if (e.src, e.src_port) not in sources:
                sources.append((e.src, e.src_port))
    in_names = _port_names(ports[0], len(sources))
    in_ids: dict[tuple[str, str], str] = {}
    for k, (src, port) in enumerate(sources):
        t = report.edge_type(Edge(src, port, "", ""), graph)
        node = body.add_node("io.Input", {"shape": list(t.shape) if t else [1],
                                          "dtype": t.dtype if t else "float"},
                             name=in_names[k], pos=(0.0, k * 150.0), node_id=body.new_id())
        in_ids[(src, port)] = node.id
    for e in inner_edges:
        body.connect(e.src, e.src_port, e.dst, e.dst_port)
    for e in graph.edges:
        if e.dst in inside and e.src not in inside:
            body.connect(in_ids[(e.src, e.src_port)], "out", e.dst, e.dst_port)
    outs: list[tuple[str, str]] = []
    for e in graph.edges:
        if e.src in inside and e.dst not in inside and (e.src, e.src_port) not in outs:
            outs.append((e.src, e.src_port))
    if not outs:
        raise GraphError("nothing outside the selection uses its output: a block needs an "
                         "output")
    out_names = _port_names(ports[1], len(outs))
    right = max(n.pos[0] for n in body.nodes.values()) + 260.0
    for k, (src, port) in enumerate(outs):
        node = body.add_node("io.Output", {}, name=out_names[k], pos=(right, k * 150.0),
                             node_id=body.new_id())
        body.connect(src, port, node.id, "in")
    attrs = inner_attrs(body)
    weights = {f"{attrs[nid]}.{k}": v for nid in chosen for k, v in
               graph.weights.get(nid, {}).items() if nid in attrs}
    iid = graph.new_id()
    name = graph.unique_name(python_name(type_name))
    instance = NewNode({"id": iid, "type": BLOCK_PREFIX + type_name, "name": name,
                        "params": {}, "pos": [sum(xs) / len(xs), sum(ys) / len(ys)],
                        "trainable": True}, weights)
    if args:  # made inside a block: pass that block's arguments on
        instance.data["expr"] = {a.name: a.name for a in args}
    for k, (src, port) in enumerate(sources):
        connect.append(Edge(src, port, iid, in_names[k]))
    for e in graph.edges:
        if e.src in inside and e.dst not in inside:
            connect.append(Edge(iid, out_names[outs.index((e.src, e.src_port))], e.dst,
                                e.dst_port))
    return Plan(chosen, [instance], connect, btype, iid)


def _port_names(base: str, n: int) -> list[str]:
    return [base] if n == 1 else [f"{base}{i + 1}" for i in range(n)]


def plan_ungroup(graph: Graph, instance_id: str, report: Report | None = None) -> Plan:
    """Replace a block instance (every repeat) by copies of its body's layers."""
    inst = graph.node(instance_id)
    if not inst.is_block:
        raise GraphError(f"'{inst.name}' is not a block")
    report = report or validate(graph)
    if instance_id not in report.in_types:
        raise GraphError(f"'{inst.name}' has a problem: fix it before ungrouping")
    params = effective_params(inst, report.args)
    run = inst.spec.run(params, report.in_types[instance_id])
    btype = inst.spec.btype
    body = btype.graph
    attrs = inner_attrs(body)
    taken = {python_name(n.name) for n in graph.nodes.values() if n.id != instance_id}
    reserved: set[str] = set()
    plan = Plan([instance_id], [], [], None, None)
    prev: dict[str, tuple[str, str]] = {}  # block input name -> (src, port) feeding it
    for port in inst.input_ports():
        e = graph.edge_into(instance_id, port)
        if e is not None:
            prev[port] = (e.src, e.src_port)
    repeat = len(run.reports)
    cx, cy = inst.pos
    xs = [n.pos[0] for n in body.nodes.values()] or [0.0]
    width = max(xs) - min(xs) + 260.0
    for r, rep in enumerate(run.reports):
        new_ids: dict[str, str] = {}
        prefix = "" if repeat == 1 else f"{r}."
        for nid in rep.order:
            node = body.nodes[nid]
            if node.spec.role != "layer":
                continue
            new_id = graph.new_id()
            while new_id in reserved:
                new_id = graph.new_id()
            reserved.add(new_id)
            new_ids[nid] = new_id
            name = _free(f"{inst.name}_{node.name}" if repeat == 1 else
                         f"{inst.name}{r}_{node.name}", taken)
            nd = {"id": new_id, "type": node.type, "name": name,
                  "params": copy.deepcopy(effective_params(node, rep.args)),
                  "trainable": node.trainable and inst.trainable,
                  "pos": [cx + (node.pos[0] - min(xs)) + r * width - width * repeat / 2,
                          cy + node.pos[1]]}
            key = f"{attrs[nid]}."
            w = {k[len(prefix) + len(key):]: v for k, v in graph.weights.get(instance_id,
                                                                             {}).items()
                 if k.startswith(prefix + key)}
            plan.add.append(NewNode(nd, w))
        ends: dict[str, tuple[str, str]] = {}
        for e in body.edges:
            src = _end(body, e.src, e.src_port, new_ids, prev)
            if body.nodes[e.dst].spec.role == "output":
                if src is not None:
                    ends[body.nodes[e.dst].name] = src
            elif src is not None:
                plan.connect.append(Edge(*src, new_ids[e.dst], e.dst_port))
        prev = {body.inputs()[0].name: ends[inst.output_ports()[0]]} if r + 1 < repeat \
            else ends
    for e in graph.edges:
        if e.src == instance_id and e.src_port in prev:
            plan.connect.append(Edge(*prev[e.src_port], e.dst, e.dst_port))
    return plan


def _end(body: Graph, src: str, port: str, new_ids: dict[str, str],
         feeds: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    node = body.nodes[src]
    if node.spec.role == "input":
        return feeds.get(node.name)
    return (new_ids[src], port)


def _free(name: str, taken: set[str]) -> str:
    base = python_name(name)
    cand, i = base, 1
    while cand in taken:
        cand = f"{base}_{i}"
        i += 1
    taken.add(cand)
    return cand


def apply_plan(graph: Graph, plan: Plan) -> None:
    """Carry out a plan directly (no undo)."""
    for nid in plan.remove:
        graph.remove_node(nid)
    if plan.block_type is not None:
        graph.add_block_type(plan.block_type)
    for new in plan.add:
        node = graph.add_node_dict(new.data)
        if new.weights:
            graph.weights[node.id] = dict(new.weights)
    for e in plan.connect:
        graph.connect(e.src, e.src_port, e.dst, e.dst_port)


__all__ = ["NewNode", "Plan", "apply_plan", "plan_make_block", "plan_ungroup"]
