"""Graph -> Python source of an nn.Module: one generator for compiling in the app and for export.

The generated `forward` is straight-line code (one statement per node, a shape comment on each),
so a compiled graph runs as fast as the same network written by hand. `GeneratedCode.lineno_map`
says which node each generated line belongs to (as torch.fx's `PythonCode._lineno_map`), so an
error raised in the model is blamed on its node whatever the node is called.
"""
from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from dataclasses import dataclass, field

from .graph import Graph, python_name
from .validate import Report, validate

HEADER = "from torch import nn\n"


class CompileError(ValueError):
    """The graph is not valid; `report` holds every issue."""

    def __init__(self, report: Report):
        self.report = report
        errors = report.errors
        head = "; ".join(i.message for i in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"the graph is not valid: {head}{more}")


class Namespace:
    """Allocates unique Python identifiers (like torch.fx's _Namespace)."""

    def __init__(self, reserved: set[str] | None = None):
        self._used = set(reserved or ()) | set(keyword.kwlist)

    def create(self, base: str) -> str:
        base = python_name(base)
        if base.startswith("__"):
            base = "n" + base
        name, i = base, 1
        while name in self._used:
            name = f"{base}_{i}"
            i += 1
        self._used.add(name)
        return name


@dataclass
class GeneratedCode:
    """Source plus the maps a caller needs: node id -> submodule attribute / forward variable."""

    source: str
    class_name: str
    attrs: dict[str, str] = field(default_factory=dict)      # node id -> self.<attr>
    variables: dict[str, str] = field(default_factory=dict)  # node id -> local variable
    input_ids: list[str] = field(default_factory=list)
    output_ids: list[str] = field(default_factory=list)
    report: Report | None = None
    lineno_map: dict[int, str] = field(default_factory=dict)  # line in source -> node id
    filename: str = ""  # set by compile_source: the name tracebacks show for `source`


# Every attribute of an nn.Module instance (torch 2.x; a test keeps it complete): a layer
# stored under one of these names would shadow it or be shadowed (`self.train` is the method,
# not the layer; `self._modules = ...` breaks the module), both in the app and in the exported
# script. Names starting with "__" are never used (Python would mangle them in the class body).
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "_apply", "_backward_hooks", "_backward_pre_hooks", "_buffers", "_call_impl",
    "_compiled_call_impl", "_forward_hooks", "_forward_hooks_always_called",
    "_forward_hooks_with_kwargs", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
    "_get_backward_hooks", "_get_backward_pre_hooks", "_get_name", "_is_full_backward_hook",
    "_load_from_state_dict", "_load_state_dict_post_hooks", "_load_state_dict_pre_hooks",
    "_maybe_warn_non_full_backward_hook", "_modules", "_named_members",
    "_non_persistent_buffers_set", "_parameters", "_register_load_state_dict_pre_hook",
    "_register_state_dict_hook", "_replicate_for_data_parallel", "_save_to_state_dict",
    "_slow_forward", "_state_dict_hooks", "_state_dict_pre_hooks", "_version",
    "_wrapped_call_impl", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float",
    "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half", "ipu",
    "load_state_dict", "modules", "mtia", "named_buffers", "named_children", "named_modules",
    "named_parameters", "parameters", "register_backward_hook", "register_buffer",
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_",
    "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "training", "type", "xpu", "zero_grad",
    "studio_code",  # set on compiled models by engine.compile
})
_RESERVED = {"self", "torch", "nn", "F", "forward", "training", "Model", "super", "__init__",
             *MODULE_ATTRIBUTES, *dir(builtins)}


def generate(graph: Graph, report: Report | None = None, class_name: str = "Model",
             docstring: str = "") -> GeneratedCode:
    """Python source of an nn.Module subclass computing `graph`. Raises CompileError."""
    report = report or validate(graph)
    if not report.ok:
        raise CompileError(report)
    attrs_ns, vars_ns = Namespace(_RESERVED), Namespace(_RESERVED)
    code = GeneratedCode("", class_name, report=report)
    init, body, supports = [], [], []
    init_ids, body_ids = [], []  # the node id of each line of init / body
    classes = _block_classes(graph, class_name)
    out_vars: dict[str, list[str]] = {}
    for nid in report.order:
        node = graph.nodes[nid]
        spec, ins = node.spec, report.in_types[nid]
        if spec.support and spec.support not in supports:
            supports.append(spec.support)
        if node.is_block:
            ctor, _ = classes.instance(node, node.params, ins, node.params, ins, " " * 8)
        else:
            ctor = spec.module(node.params, ins)
        attr = ""
        if ctor is not None:
            attr = code.attrs[nid] = attrs_ns.create(node.name)
            lines = f"        self.{attr} = {ctor}".split("\n")  # nn.Sequential spans lines
            init.extend(lines)
            init_ids.extend([nid] * len(lines))
        if spec.role == "input":
            var = vars_ns.create(node.name)
            code.input_ids.append(nid)
            code.variables[nid] = var
            out_vars[nid] = [var]
            continue
        args = [_arg(graph, nid, port, out_vars) for port in node.input_ports()]
        if spec.role == "output":
            code.output_ids.append(nid)
            code.variables[nid] = args[0]
            continue
        ports = node.output_ports()
        outs = [vars_ns.create(node.name if len(ports) == 1 else f"{node.name}_{p}")
                for p in ports]
        out_vars[nid] = outs
        code.variables[nid] = outs[0]
        stmts = spec.forward(node.params, attr, args, outs)
        shapes = ", ".join(str(t) for t in report.out_types[nid])
        comment = f"  # {_one_line(node.name)} ({spec.name}): {shapes}"
        body.extend(f"        {s}" for s in stmts[:-1])
        body.append(f"        {stmts[-1]}{comment}")
        body_ids.extend([nid] * len(stmts))
    params = ", ".join(code.variables[i] for i in code.input_ids)
    rets = ", ".join(code.variables[i] for i in code.output_ids)
    doc = _one_line(docstring or "Generated from a Studio graph.").replace("\\", "\\\\") \
        .replace('"', '\\"')
    head = [f"class {class_name}(nn.Module):", f'    """{doc}"""', "",
            "    def __init__(self):", "        super().__init__()"]
    cls = [*head, *init, "", f"    def forward(self, {params}):", *body, f"        return {rets}"]
    cls_ids = [None] * len(head) + init_ids + [None, None] + body_ids + [None]
    supports += [c for c in classes.supports if c not in supports]
    blocks = [HEADER.rstrip(), *(block.strip("\n") for block in supports), *classes.sources,
              "\n".join(cls)]
    source = "\n\n\n".join(blocks) + "\n"
    used = source[len(HEADER):]
    imports = (["import torch"] if "torch." in used else []) + ["from torch import nn"] + (
        ["import torch.nn.functional as F"] if "F." in used else [])
    code.source = "\n".join(imports) + "\n" + used
    first = code.source.count("\n") - len(cls) + 1  # the class is the last block
    code.lineno_map = {first + i: nid for i, nid in enumerate(cls_ids) if nid is not None}
    return code


def _block_classes(graph: Graph, class_name: str):
    from .blockcode import BlockClasses
    from .layers import REGISTRY

    support_classes = {name for spec in REGISTRY.values() if spec.support
                       for name in _SUPPORT_CLASS.findall(spec.support)}
    return BlockClasses(graph, {class_name, *_RESERVED, *support_classes})


_SUPPORT_CLASS = re.compile(r"^class (\w+)", re.M)


def _one_line(text: str) -> str:
    """User text made safe for a comment or docstring: a line break would start code."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
                   for c in text)


def _arg(graph: Graph, nid: str, port: str, out_vars: dict[str, list[str]]) -> str:
    edge = graph.edge_into(nid, port)
    assert edge is not None  # validation guarantees it
    src_ports = graph.nodes[edge.src].output_ports()
    return out_vars[edge.src][src_ports.index(edge.src_port)]
