"""The torch.fx front end: import an existing PyTorch `nn.Module` into a Studio graph.

    graph = import_module(model, torch.randn(1, 3, 32, 32))

The module is traced with torch.fx, every traced operation is mapped onto a registry spec
(modules, functions and tensor methods, see fx_rules) and handed to the GraphBuilder with the
module's weights. An operation without a Studio layer is an `ImportModelError` naming the fx
node, the operation and the line of the user's source that called it, never a silent drop.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

from .builder import GraphBuilder, ImportModelError, Origin, Wire
from .fx_rules import (
    META_METHODS,
    METHODS,
    Mapped,
    Unsupported,
    describe_target,
    function_handlers,
    fx_nodes,
    init_functional_names,
    module_handlers,
    module_label,
)
from .fx_trace import trace


@dataclass(frozen=True)
class MetaValue:
    """A non-tensor value (a shape, a size): only reshapes may consume it."""


@dataclass(frozen=True)
class AttentionValue:
    """The (output, weights) tuple of nn.MultiheadAttention."""

    wire: Wire


@dataclass
class RecurrentValue:
    """The (output, state) tuple of an RNN/LSTM/GRU; the node's output mode is decided by
    which part the model uses."""

    wire: Wire
    kind: str
    bidirectional: bool
    part: tuple = ()  # () the whole tuple, (1,) the state, (1, 0) an LSTM's h


# -- shapes from one real forward -----------------------------------------------------------

class _Shapes:
    """Output shapes of the traced nodes (from torch.fx ShapeProp on the example input)."""

    def __init__(self, gm, inputs):
        import torch
        from torch.fx.passes.shape_prop import ShapeProp

        modes = {m: m.training for m in gm.modules()}
        gm.eval()
        try:
            with torch.no_grad():
                ShapeProp(gm).propagate(*inputs)
        except Exception as exc:  # noqa: BLE001 (user code may raise anything)
            raise ImportModelError(f"running the traced model on the example input failed: "
                                   f"{type(exc).__name__}: {exc}") from None
        finally:
            for m, training in modes.items():
                m.train(training)

    @staticmethod
    def is_tensor(node) -> bool:
        from torch import fx
        return isinstance(node, fx.Node) and "tensor_meta" in node.meta and \
            hasattr(node.meta["tensor_meta"], "shape")

    @staticmethod
    def shape(node) -> tuple[int, ...]:
        return tuple(node.meta["tensor_meta"].shape)


# -- the importer ----------------------------------------------------------------------------

class _Importer:
    def __init__(self, module, inputs: tuple, input_names: list[str] | None):
        init_functional_names()
        self.module = module
        self.inputs = inputs
        self.input_names = input_names
        self.gm = trace(module, len(inputs))
        self.shapes = _Shapes(self.gm, inputs)
        self.builder = GraphBuilder()
        self.values: dict = {}
        self.module_nodes: dict[int, str] = {}  # id(submodule with weights) -> node name
        self.modules = module_handlers()
        self.functions = function_handlers()
        self.recurrent_modes: dict[str, str] = {}

    def origin(self, node) -> Origin:
        return Origin(node.name, self.describe(node), node.meta.get("studio_location", ""),
                      node.meta.get("studio_scope", ""))

    def error(self, node, why: str) -> ImportModelError:
        return ImportModelError(why, self.origin(node))

    def describe(self, node) -> str:
        if node.op == "call_module":
            return module_label(self.gm.get_submodule(node.target))
        return describe_target(node)

    def run(self, blocks: bool = True):
        for node in self.gm.graph.nodes:
            handler = getattr(self, f"_op_{node.op}")
            handler(node)
        graph = self.builder.finish()
        if blocks:
            from .blocks import fold_blocks
            leaves = {n.target for n in self.gm.graph.nodes if n.op == "call_module"}
            graph = fold_blocks(graph, self.builder.origins, self.module, leaves)
        return graph

    # ops --------------------------------------------------------------------------------
    def _op_placeholder(self, node) -> None:
        i = len(self.builder.graph.inputs())
        if i >= len(self.inputs):  # an argument left at its default (`mask=None`)
            return self._meta(node)
        x = self.inputs[i]
        if x.dim() < 2:
            raise ImportModelError(f"example input {i + 1} for '{node.name}' has shape "
                                   f"{tuple(x.shape)}: give a batch dimension first")
        dtype = "float" if x.is_floating_point() else "long"
        name = self.input_names[i] if self.input_names else node.name
        self.values[node] = self.builder.input(name, tuple(x.shape[1:]), dtype)

    def _op_get_attr(self, node) -> None:
        raise self.error(node, "a tensor attribute used directly in forward has no Studio "
                         "layer (wrap it in a module such as nn.Linear)")

    def _op_output(self, node) -> None:
        outs = node.args[0]
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        for i, out in enumerate(outs):
            value = self.values.get(out)
            if not isinstance(value, Wire):
                raise ImportModelError(f"output {i + 1} of the model is not a tensor Studio "
                                       "can represent")
            self.builder.output(value, "output" if len(outs) == 1 else f"output{i + 1}")

    def _op_call_module(self, node) -> None:
        module = self.gm.get_submodule(node.target)
        handler = self.modules.get(type(module))
        if handler is None:
            raise self.error(node, "no Studio layer for it")
        try:
            spec, params = handler(module)
        except Unsupported as exc:
            raise self.error(node, f"Studio's layer does not support {exc}") from None
        has_state = any(True for _ in module.parameters()) or any(True for _ in module.buffers())
        if has_state and id(module) in self.module_nodes:
            raise self.error(node, f"the module is also used by node "
                             f"'{self.module_nodes[id(module)]}'; Studio nodes cannot share "
                             "weights")
        self.module_nodes[id(module)] = node.name
        if spec == "attn.MultiheadSelfAttention":
            self._check_self_attention(node)
        elif len(node.args) > 1 or node.kwargs:
            raise self.error(node, "Studio's layer takes one input (no extra arguments)")
        self._add(node, Mapped(spec, params, [node.args[0]], module=module))
        if spec == "attn.MultiheadSelfAttention":
            self.values[node] = AttentionValue(self.values[node])
        if spec.startswith("rnn."):
            wire = self.values[node]
            self.values[node] = RecurrentValue(wire, spec, module.bidirectional)
            self.recurrent_modes[wire.node] = ""

    def _op_call_function(self, node) -> None:
        if node.target is getattr:
            return self._meta(node)
        if node.target is operator.getitem:
            return self._getitem(node)
        if getattr(node.target, "__name__", "") == "_assert_is_none":  # fx's check of a default
            return self._meta(node)
        handler = self.functions.get(node.target)
        self._call(node, handler)

    def _op_call_method(self, node) -> None:
        if node.target in META_METHODS:
            return self._meta(node)
        self._call(node, METHODS.get(node.target))

    def _check_self_attention(self, node) -> None:
        args = list(node.args) + [node.kwargs.get(k) for k in ("query", "key", "value")
                                  if k in node.kwargs]
        extra = {k: v for k, v in node.kwargs.items()
                 if k not in ("need_weights", "query", "key", "value") and v is not None}
        if len(args) != 3 or len({id(a) for a in args}) != 1 or extra:
            raise self.error(node, "Studio's MultiheadSelfAttention is self-attention "
                             "(query = key = value) without masks")

    # helpers ----------------------------------------------------------------------------
    def _call(self, node, handler) -> None:
        if handler is None:
            raise self.error(node, "no Studio layer for it")
        for arg in fx_nodes([*node.args, *node.kwargs.values()]):
            if isinstance(self.values.get(arg), (RecurrentValue, AttentionValue)):
                raise self.error(node, "uses a layer's output tuple directly")
        try:
            mapped = handler(node, self.shapes)
        except Unsupported as exc:
            raise self.error(node, f"Studio's layer does not support {exc}") from None
        self._add(node, mapped)

    def _meta(self, node) -> None:
        self.values[node] = MetaValue()

    def _tensor(self, node, arg) -> Wire:
        value = self.values.get(arg)
        if not isinstance(value, Wire):
            raise self.error(node, f"its input '{getattr(arg, 'name', arg)}' is not a tensor "
                             "Studio can represent")
        return value

    def _add(self, node, mapped: Mapped) -> None:
        if mapped.alias is not None:
            self.values[node] = self._tensor(node, mapped.alias)
            return
        sources = [self._tensor(node, a) for a in mapped.inputs]
        weights = mapped.module.state_dict() if mapped.module is not None else None
        shape = self.shapes.shape(node)[1:] if self.shapes.is_tensor(node) else None
        self.values[node] = self.builder.add(mapped.spec, mapped.params, sources,
                                             self.origin(node), weights=weights, shape=shape)

    def _getitem(self, node) -> None:
        src, index = node.args
        value = self.values.get(src)
        if not node.users:  # tuple unpacking makes items nobody uses (`out, _ = lstm(x)`)
            return self._meta(node)
        if isinstance(value, MetaValue):
            return self._meta(node)
        if isinstance(value, RecurrentValue):
            return self._recurrent_item(node, value, index)
        if isinstance(value, AttentionValue):
            if index != 0:
                raise self.error(node, "Studio's attention node does not output the "
                                 "attention weights")
            self.values[node] = value.wire
            return None
        if isinstance(value, Wire) and value.node in self.recurrent_modes and \
                index == (slice(None), -1) and len(src.users) == 1:
            self._set_mode(node, value, "last")
            self.values[node] = value
            self._record_shape(node, value)
            return
        raise self.error(node, "indexing/slicing tensors has no Studio layer")

    def _recurrent_item(self, node, value: RecurrentValue, index) -> None:
        part = (*value.part, index)
        if part == (0,):
            self._set_mode(node, value.wire, "sequence")
            self.values[node] = value.wire
            self._record_shape(node, value.wire)
        elif part in ((1,),) or (value.kind == "rnn.LSTM" and part == (1, 0)):
            self.values[node] = RecurrentValue(value.wire, value.kind, value.bidirectional,
                                               part)
        elif value.kind == "rnn.LSTM" and part == (1, 1):
            raise self.error(node, "Studio's LSTM node does not output the cell state")
        elif part[-1] == -1 and part[:-1] in ((1,), (1, 0)) and \
                (value.kind == "rnn.LSTM") == (part[:-1] == (1, 0)):
            if value.bidirectional:
                raise self.error(node, "use the output sequence of a bidirectional layer; "
                                 "Studio's 'hidden' output joins both directions")
            self._set_mode(node, value.wire, "hidden")
            self.values[node] = value.wire
            self._record_shape(node, value.wire)
        else:
            raise self.error(node, f"this part {part} of a recurrent layer's output has no "
                             "Studio equivalent")

    def _set_mode(self, node, wire: Wire, mode: str) -> None:
        current = self.recurrent_modes.get(wire.node, "")
        if current and current != mode and not (current == "sequence" and mode == "last"):
            name = self.builder.graph.nodes[wire.node].name
            raise self.error(node, f"the model uses both the {current} and the {mode} output "
                             f"of '{name}'; a Studio node outputs one")
        self.recurrent_modes[wire.node] = mode
        self.builder.set_param(wire, "output", mode)

    def _record_shape(self, node, wire: Wire) -> None:
        if self.shapes.is_tensor(node):
            self.builder.expect_shape(wire, self.shapes.shape(node)[1:])


def import_module(module, example_input, input_names: list[str] | None = None,
                  blocks: bool = True):
    """Trace `module` with torch.fx and return a Studio graph computing the same function, the
    module's weights attached in `graph.weights` (node id -> tensor name -> numpy array), so
    `compile_graph(graph)` reproduces the module. `example_input` is a tensor (or a tuple of
    tensors, one per forward argument) with a batch dimension first. Raises ImportModelError
    naming the traced node, its operation and the source line that called it. With `blocks`,
    the module's submodules become block types and instances (importers.blocks), so the
    compiled model's state_dict keys equal the module's."""
    inputs = tuple(example_input) if isinstance(example_input, (tuple, list)) else \
        (example_input,)
    return _Importer(module, inputs, input_names).run(blocks)
