"""Rewrites that give an imported graph the nodes a person would draw (and give Studio's own
exported code back the graph it came from). Each keeps the computation bit for bit:

- `a + b + c` (two Adds, the inner one used once) -> one Add of three inputs; the same for
  Multiply and Maximum;
- `(a + b) / 2` -> Average;
- `x.flatten(2).mean(2)` (a Reshape to (C, -1) feeding a global pooling) -> the pooling alone.
"""
from __future__ import annotations

from ..graph import Graph

_CHAINS = ("merge.Add", "merge.Multiply", "merge.Maximum")
_GLOBAL = ("pool.GlobalAvgPool", "pool.GlobalMaxPool")


def simplify(graph: Graph, removed) -> None:
    """Apply the rewrites until none applies; `removed(node_id)` is called for each node
    taken out (so the builder forgets its origin and expected shape)."""
    changed = True
    while changed:
        changed = False
        for nid in list(graph.nodes):
            if nid not in graph.nodes:
                continue
            node = graph.nodes[nid]
            rule = _RULES.get(node.type)
            if rule is not None and rule(graph, nid, removed):
                changed = True


def _sources(graph: Graph, nid: str) -> list[tuple[str, str]]:
    node = graph.nodes[nid]
    edges = [graph.edge_into(nid, p) for p in node.input_ports()]
    return [(e.src, e.src_port) for e in edges]


def _only_feeds(graph: Graph, src: str, dst: str) -> bool:
    outs = graph.out_edges(src)
    return len(outs) == 1 and outs[0].dst == dst


def _rewire(graph: Graph, nid: str, sources: list[tuple[str, str]]) -> None:
    for e in graph.in_edges(nid):
        graph.disconnect(e)
    if "inputs" in graph.nodes[nid].params:
        graph.set_param(nid, "inputs", len(sources))
    for (src, port), dst_port in zip(sources, graph.nodes[nid].input_ports()):
        graph.connect(src, port, nid, dst_port)


def _chain(graph: Graph, nid: str, removed) -> bool:
    """X(Y(a, b), c) -> X(a, b, c) when Y is the same merge and used only by X."""
    node = graph.nodes[nid]
    sources = _sources(graph, nid)
    inner, _port = sources[0]
    if graph.nodes[inner].type != node.type or not _only_feeds(graph, inner, nid):
        return False
    merged = _sources(graph, inner) + sources[1:]
    if len(merged) > 32:
        return False
    graph.remove_node(inner)
    removed(inner)
    _rewire(graph, nid, merged)
    return True


def _average(graph: Graph, nid: str, removed) -> bool:
    """ScalarOp(Add(x1..xk) / k) -> Average(x1..xk)."""
    p = graph.nodes[nid].params
    (add, _port), = _sources(graph, nid)
    inner = graph.nodes[add]
    if not (p["op"] == "/" and not p["reverse"] and inner.type == "merge.Add"
            and p["value"] == inner.params["inputs"] and _only_feeds(graph, add, nid)):
        return False
    sources, outs = _sources(graph, add), graph.out_edges(nid)
    name, pos = graph.nodes[nid].name, graph.nodes[nid].pos
    graph.remove_node(nid)
    removed(nid)
    graph.remove_node(add)
    removed(add)
    avg = graph.add_node("merge.Average", {"inputs": len(sources)}, name=name, pos=pos,
                         node_id=nid)
    _rewire(graph, avg.id, sources)
    for e in outs:
        graph.connect(avg.id, "out", e.dst, e.dst_port)
    return True


def _global_pool(graph: Graph, nid: str, removed) -> bool:
    """GlobalPool(Reshape(x, (C, -1))) -> GlobalPool(x) when the Reshape only flattens the
    positions of each channel."""
    (src, _port), = _sources(graph, nid)
    reshape = graph.nodes[src]
    if reshape.type != "core.Reshape" or not _only_feeds(graph, src, nid):
        return False
    shape = reshape.params["shape"]
    if not isinstance(shape, list) or len(shape) != 2:
        return False
    (x, x_port), = _sources(graph, src)
    from ..validate import validate

    types = validate(graph).out_types.get(x)
    if not types or types[0].rank < 2 or shape[0] != types[0].shape[0]:
        return False
    graph.remove_node(src)
    removed(src)
    graph.connect(x, x_port, nid, "in")
    return True


_RULES = {**{t: _chain for t in _CHAINS}, "math.ScalarOp": _average,
          **{t: _global_pool for t in _GLOBAL}}
