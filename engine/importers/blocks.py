"""Imported graphs get the source module's hierarchy back as blocks.

The front end builds a flat graph in which every node knows the module path it came from
(`Origin.scope`: 'layer1.0.conv1' for a submodule call, 'layer1.0' for an op inside that
module's forward). `fold_blocks` turns every submodule with nodes inside into a block
instance, bottom-up, naming inner nodes by their attribute ('conv1', '0', 'downsample'), so
the compiled model's `state_dict` keys equal the source's. Uses of the same module class with
the same structure share one block type; params that differ between them become the type's
arguments (`conv1_out_channels`), so a ResNet's sixteen bottlenecks are one or two types.
"""
from __future__ import annotations

import copy
import json
from collections import defaultdict

from ..blockcode import inner_attrs
from ..blockedit import apply_plan, plan_make_block
from ..blocks import RESERVED_TYPES, BlockType, make_arg
from ..graph import BLOCK_PREFIX, Graph, python_name
from .builder import Origin


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def _local(path: str) -> str:
    return path.rpartition(".")[2]


def fold_blocks(graph: Graph, origins: dict[str, Origin], module, leaf_paths: set[str]) \
        -> Graph:
    """Group the flat imported `graph` into blocks along the module tree of `module`."""
    owner, local = {}, {}
    for nid, node in graph.nodes.items():
        origin = origins.get(nid)
        scope = origin.scope if origin else ""
        if scope in leaf_paths:  # the call of a leaf module: it belongs to its parent
            owner[nid], local[nid] = _parent(scope), _local(scope)
        else:  # an op inside the module's forward: named after its layer type
            owner[nid], local[nid] = scope, python_name(node.spec.name)
    paths = {p for p in owner.values() if p}
    for p in list(paths):
        while _parent(p):
            p = _parent(p)
            paths.add(p)
    if not paths:
        return graph
    flat_weights = dict(graph.weights)
    made: dict[str, str] = {}  # module path -> instance node id (in the top graph)
    classes: dict[str, str] = {}  # temporary type name -> source class name
    temp_of: dict[str, str] = {}  # module path -> its temporary type name
    inner_name: dict[str, str] = {}  # node or instance id -> its name in its block
    container: dict[str, str] = {}  # node or instance id -> module path of its block
    for k, path in enumerate(sorted(paths, key=lambda p: (-p.count("."), p))):
        members = [nid for nid, o in owner.items() if o == path and nid in graph.nodes]
        members += [iid for p, iid in made.items() if _parent(p) == path]
        if not members:
            continue
        temp = f"Imported{k}"
        plan = plan_make_block(graph, members, temp, ports=("input", "output"))
        apply_plan(graph, plan)
        body = graph.blocks[temp].graph
        for nid in list(body.nodes):  # inner names: the attribute names of the source
            node = body.nodes[nid]
            if node.spec.role != "layer":
                continue
            name = local.get(nid) or next(_local(p) for p, i in made.items() if i == nid)
            if node.name != name:  # a module called twice (a shared ReLU): relu, relu1
                taken = {n.name for i, n in body.nodes.items() if i != nid}
                body.rename(nid, name if name not in taken else body.unique_name(name))
        for nid in members:
            inner_name[nid], container[nid] = body.nodes[nid].name, path
        made[path] = plan.instance_id
        temp_of[path] = temp
        graph.rename(plan.instance_id, path.replace(".", "_"))
        cls = type(module.get_submodule(path)).__name__
        if not cls.isidentifier() or cls in RESERVED_TYPES or cls.startswith("_") or \
                cls in ("ModuleList", "ModuleDict"):  # containers: named by attribute
            cls = "".join(p[:1].upper() + p[1:] for p in _local(path).split("_")) or "Block"
            cls = cls if cls[0].isalpha() else "Block" + cls
        classes[temp] = cls
    for path, iid in made.items():
        if not _parent(path):
            graph.rename(iid, _local(path))
    renamed = _share_types(graph, classes, made)
    _weights(graph, flat_weights, made, {p: renamed[t] for p, t in temp_of.items()},
             inner_name, container)
    return graph


def _weights(graph: Graph, flat: dict, made: dict[str, str], type_of: dict[str, str],
             inner_name: dict[str, str], container: dict[str, str]) -> None:
    """Each folded node's tensors move to its top-level instance, keyed by the attribute path
    the generated classes give it ('layer1.0.conv1.weight' when the names are the source's)."""
    attrs = {name: {bt.graph.nodes[i].name: a for i, a in inner_attrs(bt.graph).items()}
             for name, bt in graph.blocks.items()}
    graph.weights = {nid: w for nid, w in flat.items() if nid in graph.nodes}
    for nid, tensors in flat.items():
        if nid in graph.nodes:
            continue
        parts, cur = [], nid
        while container.get(cur):
            path = container[cur]
            parts.append(attrs[type_of[path]][inner_name[cur]])
            cur = made[path]
        prefix = ".".join(reversed(parts))
        graph.weights.setdefault(cur, {}).update(
            {f"{prefix}.{k}": v for k, v in tensors.items()})


# -- one block type per class and structure, differing params as arguments -------------------

def _structure(btype: BlockType, renamed: dict[str, str]) -> str:
    """The type's layers, wiring and param names, and the values of params that cannot
    become arguments (a Reshape's shape, a None): types that differ there stay apart."""
    body = btype.graph.to_dict()
    nodes = [{"type": _final(n["type"], renamed), "name": n["name"],
              "params": sorted(n["params"]),
              "fixed": sorted((k, repr(v)) for k, v in n["params"].items()
                              if _kind([_scalar(v)]) is None
                              and n["type"] not in ("io.Input", "io.Output"))}
             for n in body["nodes"]]
    names = {n["id"]: n["name"] for n in body["nodes"]}
    edges = sorted((names[e["src"]], e["src_port"], names[e["dst"]], e["dst_port"])
                   for e in body["edges"])
    return json.dumps([nodes, edges], sort_keys=True)


def _share_types(graph: Graph, classes: dict[str, str], made: dict[str, str]) \
        -> dict[str, str]:
    """Merge same-class, same-structure types (differing scalar params become arguments);
    returns temporary type name -> final type name."""
    order = [t for t in graph.blocks]  # made bottom-up: inner types first
    renamed: dict[str, str] = {}
    used_names: set[str] = set()
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for temp in order:
        key = (classes[temp], _structure(graph.blocks[temp], renamed))
        groups[key].append(temp)
        first = groups[key][0]
        if first != temp:
            renamed[temp] = renamed[first]
            continue
        renamed[temp] = _type_name(classes[temp], temp, made, used_names)
    users = _users(graph)
    final: dict[str, BlockType] = {}
    for (cls, _s), temps in groups.items():
        new = renamed[temps[0]]
        final[new] = _merged(new, [graph.blocks[t] for t in temps],
                             [users[t] for t in temps], graph)
    for t in order:
        graph._block_unsubscribe.pop(t)()
    graph.blocks.clear()
    for g in [graph] + [bt.graph for bt in final.values()]:
        for n in g.nodes.values():
            n.type = _final(n.type, renamed)
    for bt in final.values():
        graph.add_block_type(bt)
    return renamed


def _final(layer_type: str, renamed: dict[str, str]) -> str:
    if layer_type.startswith(BLOCK_PREFIX):
        return BLOCK_PREFIX + renamed.get(layer_type[len(BLOCK_PREFIX):],
                                          layer_type[len(BLOCK_PREFIX):])
    return layer_type


def _type_name(cls: str, temp: str, made: dict[str, str], used: set[str]) -> str:
    base = cls if cls.isidentifier() and cls not in RESERVED_TYPES and cls[0] != "_" else ""
    if not base:
        base = "Imported"
    name, i = base, 2
    while name in used:
        name = f"{base}{i}"
        i += 1
    used.add(name)
    return name


def _users(graph: Graph) -> dict[str, list]:
    """Block type name -> the instance nodes using it (in any graph)."""
    out: dict[str, list] = defaultdict(list)
    for g in graph.all_graphs():
        for n in g.nodes.values():
            if n.is_block:
                out[n.type[len(BLOCK_PREFIX):]].append(n)
    return out


def _merged(name: str, types: list[BlockType], users: list[list], graph: Graph) -> BlockType:
    """One type for several same-structure types: params that differ become arguments."""
    first = types[0]
    body = Graph(graph.blocks)
    for nd in first.graph.to_dict()["nodes"]:
        if nd["type"].startswith(BLOCK_PREFIX):  # its arguments are those of the merged type
            params, nd["params"] = nd["params"], {}
            body.add_node_dict(nd).params = params
        else:
            body.add_node_dict(nd)
    for e in first.graph.edges:
        body.connect(e.src, e.src_port, e.dst, e.dst_port)
    columns: dict[tuple[str, str], list] = {}
    by_name = [{n.name: n for n in t.graph.nodes.values()} for t in types]
    for nid, node in body.nodes.items():
        if node.spec.role != "layer":  # a block's Input takes its shape from the instance
            continue
        for pname in node.params:
            values = [nodes[node.name].params.get(pname) for nodes in by_name]
            if any(v != values[0] for v in values):
                columns[(nid, pname)] = values
    args, by_values = [], {}
    for (nid, pname), values in columns.items():
        values = [_scalar(v) for v in values]
        key = json.dumps(values)
        if key not in by_values:
            arg_name = python_name(f"{body.nodes[nid].name}_{pname}")
            arg_name = arg_name if not arg_name.startswith("n_") else "block" + arg_name[1:]
            kind = _kind(values)
            if kind is None:
                continue  # not expressible as an argument: the types stay apart below
            by_values[key] = arg_name
            args.append(make_arg(arg_name, kind, values[0]))
        body.nodes[nid].exprs[pname] = by_values[key]
        body.nodes[nid].params[pname] = copy.deepcopy(values[0])
    merged = BlockType(name, body, args, f"Imported from the module class {name}.")
    for k, nodes in enumerate(users):
        for n in nodes:
            for (nid, pname), values in columns.items():
                arg = body.nodes[nid].exprs.get(pname)
                if arg:
                    n.params[arg] = _scalar(values[k])
    return merged


def _scalar(value):
    """[2, 2] -> 2 (an argument holds one number; the layer repeats it per axis)."""
    if isinstance(value, list) and value and all(v == value[0] for v in value):
        return value[0]
    return value


def _kind(values: list) -> str | None:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "str"
    return None


__all__ = ["fold_blocks"]
