"""Code for block types: one `nn.Module` class per block type, its arguments as constructor
parameters, so generated code and `state_dict` keys read like hand-written PyTorch.

A class is written by running the block body's shape inference with numbers that remember
their names (`argexpr.SymInt`): the block's arguments and the sizes of its inputs
(`in_channels`, ...). Layer specs then write `nn.Conv2d(in_channels, planes * 4, ...)`.
Every use of a block type (instance, repeat, nesting) is written this way with its own values;
uses whose class text is identical share one class, and a use that would need different code
(a literal that differs) gets its own class (`Bottleneck2`), so each class is exact for the
instances that use it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .argexpr import SymFloat, SymInt, evaluate, strip, tag
from .codegen import MODULE_ATTRIBUTES, Namespace
from .graph import Graph, Node, python_name
from .layers import TensorType
from .layers.emit import call
from .validate import Report, effective_params

_SUPPORT_CLASS = re.compile(r"^class (\w+)", re.MULTILINE)
IND = "    "


def _dim_names(base: str, rank: int) -> list[str]:
    if rank == 1:
        return [f"{base}_features"]
    if rank == 2:
        return [f"{base}_channels", f"{base}_features"]
    spatial = {2: ["height", "width"], 3: ["depth", "height", "width"]}.get(
        rank - 1, [f"size{i}" for i in range(1, rank)])
    return [f"{base}_channels", *(f"{base}_{s}" for s in spatial)]


@dataclass
class _Trace:
    init: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    outs: list[TensorType] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)


_ATTR_RESERVED = {"self", "torch", "nn", "F", "forward", "training", "super", "__init__",
                  *MODULE_ATTRIBUTES}


def inner_attrs(graph: Graph) -> dict[str, str]:
    """{inner node id: attribute name} of a block body's submodules in its class (the same
    names the generated class uses, so per-node weights can move in and out of a block)."""
    chain = sequential_chain(graph)
    if chain is not None:
        return {nid: str(i) for i, nid in enumerate(chain)}
    names = Namespace(_ATTR_RESERVED)
    out = {}
    for nid, node in graph.nodes.items():
        if node.spec.role == "layer":
            out[nid] = names.create(node.name)
    return out


def sequential_chain(graph: Graph) -> list[str] | None:
    """The layer ids of a body that is written as an `nn.Sequential` subclass (numbered
    children, like the source's `nn.Sequential`): one input, one output, a plain chain of
    single-input layers named 0, 1, 2, ... in order; else None."""
    ins, outs = graph.inputs(), graph.outputs()
    if len(ins) != 1 or len(outs) != 1 or len(graph.edges) != len(graph.nodes) - 1:
        return None
    chain, cur = [], ins[0].id
    while True:
        nxt = graph.out_edges(cur)
        if len(nxt) != 1:
            return None
        cur = nxt[0].dst
        if cur == outs[0].id:
            break
        node = graph.nodes[cur]
        if node.name != str(len(chain)) or len(node.input_ports()) != 1 or \
                node.params.get("repeat", 1) != 1 or node.spec.role != "layer":
            return None
        chain.append(cur)
    return chain or None


class BlockClasses:
    """Writes the block classes a model needs and the constructor call of each instance."""

    def __init__(self, graph: Graph, reserved: set[str]):
        self.graph = graph
        self.sources: list[str] = []
        self.supports: list[str] = []
        self._class_of: dict[tuple, tuple[str, list[int]]] = {}
        self._text_class: dict[tuple[str, str], str] = {}
        self._reserved = set(reserved)
        self._used: set[str] = set()

    # -- constructor calls ----------------------------------------------------------------
    def instance(self, node: Node, params: dict, ins: list[TensorType], concrete: dict,
                 concrete_ins: list[TensorType], indent: str) -> tuple[str, list[TensorType]]:
        """The constructor source of a block instance (a class call, or nn.Sequential of N
        calls for repeat N) and its output types, written with the caller's values."""
        btype = node.spec.btype
        run = node.spec.run(concrete, concrete_ins)
        args = {a.name: params.get(a.name, a.default) for a in btype.args}
        calls, cur = [], list(ins)
        for r, report in enumerate(run.reports):
            cls, derived = self._class(btype, report, run.ins[r])
            values = [d for t in cur for d in t.shape]
            positional = [values[i] for i in derived]
            keywords = [(a.name, args[a.name], a.default) for a in btype.args]
            calls.append(call(cls, positional, keywords))
            cur = self._trace(btype, report, args, cur, attrs=None).outs
        if len(calls) == 1:
            return calls[0], cur
        inner = "".join(f"\n{indent}{IND}{c}," for c in calls)
        return f"nn.Sequential({inner}\n{indent})", cur

    # -- classes ------------------------------------------------------------------------------
    def _class(self, btype, report: Report, ins: list[TensorType]) -> tuple[str, list[int]]:
        key = (btype.name, _freeze(report.args), tuple(ins))
        if key not in self._class_of:
            text, derived = self._class_text(btype, report, ins)
            name = self._text_class.get((btype.name, text))
            if name is None:
                name = self._text_class[(btype.name, text)] = self._new_name(btype.name)
                self.sources.append(text.replace("class __BLOCK__(", f"class {name}(", 1))
            self._class_of[key] = (name, derived)
        return self._class_of[key]

    def _new_name(self, base: str) -> str:
        others = set(self.graph.blocks) - {base}
        name, i = base, 2
        while name in self._reserved or name in self._used or name in others:
            name = f"{base}{i}"
            i += 1
        self._used.add(name)
        return name

    def _class_text(self, btype, report: Report, ins: list[TensorType]):
        inputs = btype.input_nodes()
        arg_names = {a.name for a in btype.args}
        dims: list[str] = []
        tagged_ins = []
        for node, t in zip(inputs, ins):
            base = "in" if len(inputs) == 1 else python_name(node.name)
            names = []
            for nm in _dim_names(base, t.rank):
                while nm in arg_names or nm in dims or nm in names:
                    nm += "_"
                names.append(nm)
            dims.extend(names)
            tagged_ins.append(TensorType(tuple(SymInt(v, n) for v, n in zip(t.shape, names)),
                                         t.dtype))
        args = {a.name: tag(report.args[a.name], a.name) for a in btype.args}
        trace = self._trace(btype, report, args, tagged_ins, attrs=inner_attrs(btype.graph))
        body = "\n".join(trace.init)
        derived = [i for i, n in enumerate(dims) if re.search(rf"\b{re.escape(n)}\b", body)]
        sig = ["self", *(dims[i] for i in derived),
               *(f"{a.name}={a.default!r}" for a in btype.args)]
        doc = (btype.doc or f"Block {btype.name}.").replace("\\", "\\\\").replace('"', "'")
        doc = " ".join(doc.split())
        params = ", ".join(["self", *trace.forward[0]]) if trace.forward else "self"
        if sequential_chain(btype.graph) is not None and len(trace.init) == len(
                sequential_chain(btype.graph)):
            ctors = [line.split(" = ", 1)[1] for line in trace.init]
            items = "".join(f"\n{IND * 3}{c}," for c in ctors)
            lines = ["class __BLOCK__(nn.Sequential):", f'{IND}"""{doc}"""', "",
                     f"{IND}def __init__({', '.join(sig)}):",
                     f"{IND * 2}super().__init__({items}\n{IND * 2})"]
            return "\n".join(lines), derived
        lines = ["class __BLOCK__(nn.Module):", f'{IND}"""{doc}"""', "",
                 f"{IND}def __init__({', '.join(sig)}):", f"{IND * 2}super().__init__()",
                 *trace.init, "", f"{IND}def forward({params}):", *trace.forward[1:]]
        return "\n".join(lines), derived

    def _trace(self, btype, report: Report, args: dict, ins: list[TensorType],
               attrs: dict[str, str] | None) -> _Trace:
        """Run the body with (tagged) `args` and input types `ins`; with `attrs`, also write
        the class body (`init` lines; `forward`: [params, *lines])."""
        g = btype.graph
        out = _Trace()
        types: dict[str, list[TensorType]] = {}
        var_names = Namespace(_ATTR_RESERVED)
        var: dict[str, list[str]] = {}
        inputs = [n.id for n in btype.input_nodes()]
        params_line: list[str] = []
        returns: dict[str, str] = {}
        ind = IND * 2
        for nid in report.order:
            node, spec = g.nodes[nid], g.nodes[nid].spec
            concrete = effective_params(node, report.args)
            ins_c = report.in_types.get(nid, [])
            srcs = [g.edge_into(nid, p) for p in node.input_ports()]
            ins_t = [types[e.src][g.nodes[e.src].output_ports().index(e.src_port)]
                     for e in srcs]
            args_v = [var[e.src][g.nodes[e.src].output_ports().index(e.src_port)]
                      for e in srcs] if attrs is not None else []
            if spec.role == "input":
                types[nid] = [ins[inputs.index(nid)]]
                if attrs is not None:
                    var[nid] = [var_names.create(node.name)]
                    params_line.append(var[nid][0])
                continue
            if spec.role == "output":
                if attrs is not None:
                    returns[nid] = args_v[0]
                continue
            params = _tagged_params(node, concrete, args)
            if node.is_block:
                ctor, outs = self.instance(node, params, ins_t, concrete, ins_c, ind)
            else:
                if spec.support and spec.support not in self.supports:
                    self.supports.append(spec.support)
                try:
                    outs = spec.infer(params, ins_t)
                except Exception:  # a spec that cannot take tagged values: plain numbers
                    outs = report.out_types[nid]
                ctor = spec.module(params, ins_t) if attrs is not None else None
            types[nid] = outs
            if attrs is None:
                continue
            attr = attrs[nid]
            if ctor is not None:
                out.init.append(f"{ind}self.{attr} = {ctor}")
            ports = node.output_ports()
            var[nid] = [var_names.create(node.name if len(ports) == 1 else f"{node.name}_{p}")
                        for p in ports]
            stmts = spec.forward(concrete, attr, args_v, var[nid])
            comment = f"  # {node.name} ({spec.name})".replace("\n", " ")
            out.forward.extend(f"{ind}{s}" for s in stmts[:-1])
            out.forward.append(f"{ind}{stmts[-1]}{comment}")
        out.outs = [types[e.src][g.nodes[e.src].output_ports().index(e.src_port)]
                    for e in (g.edge_into(o.id, "in") for o in btype.output_nodes())]
        if attrs is not None:
            rets = [returns[o.id] for o in btype.output_nodes()]
            out.forward = [params_line, *out.forward, f"{ind}return {', '.join(rets)}"]
        return out


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _tagged_params(node: Node, concrete: dict, args: dict) -> dict:
    """The node's params with argument expressions computed from tagged `args`, so that the
    numbers they give print as expressions."""
    if not node.exprs:
        return concrete
    out = dict(concrete)
    for name, expr in node.exprs.items():
        try:
            value = evaluate(expr, args)
        except ValueError:
            continue
        if isinstance(value, (SymInt, SymFloat)) and strip(value) == concrete[name] and \
                type(strip(value)) is type(concrete[name]):
            out[name] = value
    return out


__all__ = ["BlockClasses", "inner_attrs"]
