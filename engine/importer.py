"""Import an existing PyTorch `nn.Module` into a Studio graph via torch.fx.

    graph = import_module(model, torch.randn(1, 3, 32, 32))

The module is traced with `torch.fx.symbolic_trace`, every traced operation is mapped onto a
registry spec (modules, functions and tensor methods), the module's weights are attached per
node (`graph.weights`), and the nodes are laid out left to right by topological generation.
An operation without a Studio layer is an `ImportModelError` naming it, never a silent drop.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .graph import Graph
from .validate import validate


class ImportModelError(ValueError):
    """The module cannot be imported; the message names the traced node and its operation."""


@dataclass(frozen=True)
class TensorValue:
    """A tensor in the graph being built: output `port` of Studio node `node`."""

    node: str
    port: str = "out"


@dataclass(frozen=True)
class MetaValue:
    """A non-tensor value (a shape, a size): only reshapes may consume it."""


@dataclass
class RecurrentValue:
    """The (output, state) tuple of an RNN/LSTM/GRU; the node's output mode is decided by
    which part the model uses."""

    node: str
    kind: str
    bidirectional: bool
    part: tuple = ()  # () the whole tuple, (1,) the state, (1, 0) an LSTM's h


@dataclass
class Mapped:
    """What one traced operation becomes: a node of `spec` on `inputs`, or an alias."""

    spec: str = ""
    params: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)   # fx nodes (tensor arguments), in port order
    module: Any = None                           # submodule whose state dict becomes weights
    alias: Any = None                            # fx node whose value this op passes through


# -- describing ops in messages ---------------------------------------------------------------

def describe_target(node) -> str:
    """'torch.sin', 'nn.PixelShuffle', 'Tensor.sin' for an fx node."""
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "call_function":
        t = node.target
        mod = getattr(t, "__module__", None) or ""
        name = getattr(t, "__name__", repr(t))
        if mod == "_operator":
            return f"operator.{name}"
        if mod.startswith("torch.nn.functional") or t in _FUNCTIONAL_NAMES:
            return f"F.{_FUNCTIONAL_NAMES.get(t, name)}"
        import torch

        if mod.startswith("torch") or getattr(torch, name, None) is t:
            return f"torch.{name}"
        return f"{mod}.{name}" if mod else name
    if node.op == "get_attr":
        return f"attribute self.{node.target}"
    return node.op


def _module_label(module) -> str:
    cls = type(module)
    return f"nn.{cls.__name__}" if cls.__module__.startswith("torch.nn") else \
        f"{cls.__module__}.{cls.__qualname__}"


# -- module handlers ----------------------------------------------------------------------------

def _ints(v) -> list[int] | int:
    if isinstance(v, (tuple, list)):
        return [int(x) for x in v]
    return int(v)


def _require(cond: bool, why: str) -> None:
    if not cond:
        raise _Unsupported(why)


class _Unsupported(Exception):
    """Raised by a handler: the op is known but this configuration has no Studio layer."""


def _linear(m):
    return "core.Linear", {"out_features": m.out_features, "bias": m.bias is not None}


def _conv(spec: str):
    def handler(m):
        _require(m.padding_mode == "zeros", f"padding_mode={m.padding_mode!r} (only zeros)")
        p = {"out_channels": m.out_channels, "kernel_size": _ints(m.kernel_size),
             "stride": _ints(m.stride), "dilation": _ints(m.dilation), "groups": m.groups,
             "bias": m.bias is not None,
             "padding": m.padding if isinstance(m.padding, str) else _ints(m.padding)}
        if spec == "conv.ConvTranspose2d":
            p["output_padding"] = _ints(m.output_padding)
        return spec, p
    return handler


def _batchnorm(spec: str):
    def handler(m):
        _require(m.momentum is not None, "momentum=None (cumulative moving average)")
        return spec, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine,
                      "track_running_stats": m.track_running_stats}
    return handler


def _layernorm(m):
    _require(m.elementwise_affine is False or m.bias is not None, "bias=False")
    return "norm.LayerNorm", {"normalized_dims": len(m.normalized_shape), "eps": m.eps,
                              "elementwise_affine": m.elementwise_affine}


def _groupnorm(m):
    return "norm.GroupNorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine}


def _pool(spec: str, kind: str):
    def handler(m):
        _require(not m.ceil_mode, "ceil_mode=True")
        if kind == "max":
            _require(m.dilation in (1, (1, 1), [1, 1], (1,)), f"dilation={m.dilation}")
            _require(not m.return_indices, "return_indices=True")
        else:
            _require(m.count_include_pad, "count_include_pad=False")
            _require(getattr(m, "divisor_override", None) is None, "divisor_override")
        k = _ints(m.kernel_size)
        stride = _ints(m.stride) if m.stride is not None else 0
        return spec, {"kernel_size": k, "stride": stride if stride != k else 0,
                      "padding": _ints(m.padding)}
    return handler


def _adaptive(spec: str):
    def handler(m):
        size = m.output_size
        _require(size is not None and (not isinstance(size, tuple) or None not in size),
                 "an output size of None")
        return spec, {"output_size": _ints(size)}
    return handler


def _upsample(m):
    _require(m.size is None and m.scale_factor is not None, "a fixed output size")
    sf = m.scale_factor
    if isinstance(sf, tuple):
        _require(len(set(sf)) == 1, f"per-axis scale factors {sf}")
        sf = sf[0]
    _require(m.align_corners in (None, False), "align_corners=True")
    return "pool.Upsample", {"scale_factor": float(sf), "mode": m.mode}


def _flatten_module(m):
    _require(m.start_dim == 1 and m.end_dim == -1, f"start_dim={m.start_dim}, "
             f"end_dim={m.end_dim}")
    return "core.Flatten", {}


def _embedding(m):
    _require(m.padding_idx is None, f"padding_idx={m.padding_idx}")
    _require(m.max_norm is None, f"max_norm={m.max_norm}")
    _require(not m.sparse, "sparse=True")
    return "core.Embedding", {"num_embeddings": m.num_embeddings,
                              "embedding_dim": m.embedding_dim}


def _simple(spec: str, **attrs: str):
    def handler(m):
        return spec, {k: getattr(m, a) for k, a in attrs.items()}
    return handler


def _gelu(m):
    _require(m.approximate == "none", f"approximate={m.approximate!r}")
    return "act.GELU", {}


def _softplus(m):
    _require(m.threshold == 20, f"threshold={m.threshold}")
    return "act.Softplus", {"beta": float(m.beta)}


def _softmax(spec: str):
    def handler(m):
        _require(m.dim is not None, "an implicit dim (pass dim=...)")
        return spec, {"dim": m.dim}
    return handler


def _recurrent(spec: str):
    def handler(m):
        _require(m.batch_first, "batch_first=False (Studio sequences are (N, L, F))")
        _require(getattr(m, "proj_size", 0) == 0, "proj_size")
        p = {"hidden_size": m.hidden_size, "num_layers": m.num_layers,
             "bidirectional": m.bidirectional, "dropout": float(m.dropout), "bias": m.bias,
             "output": "sequence"}
        if spec == "rnn.RNN":
            p["nonlinearity"] = m.nonlinearity
        return spec, p
    return handler


def _module_handlers() -> dict[type, Callable]:
    from torch import nn

    return {
        nn.Linear: _linear,
        nn.Conv1d: _conv("conv.Conv1d"), nn.Conv2d: _conv("conv.Conv2d"),
        nn.Conv3d: _conv("conv.Conv3d"), nn.ConvTranspose2d: _conv("conv.ConvTranspose2d"),
        nn.BatchNorm1d: _batchnorm("norm.BatchNorm1d"),
        nn.BatchNorm2d: _batchnorm("norm.BatchNorm2d"),
        nn.LayerNorm: _layernorm, nn.GroupNorm: _groupnorm,
        nn.MaxPool1d: _pool("pool.MaxPool1d", "max"), nn.MaxPool2d: _pool("pool.MaxPool2d", "max"),
        nn.AvgPool1d: _pool("pool.AvgPool1d", "avg"), nn.AvgPool2d: _pool("pool.AvgPool2d", "avg"),
        nn.AdaptiveAvgPool1d: _adaptive("pool.AdaptiveAvgPool1d"),
        nn.AdaptiveAvgPool2d: _adaptive("pool.AdaptiveAvgPool2d"),
        nn.Upsample: _upsample,
        nn.Flatten: _flatten_module, nn.Identity: _simple("core.Identity"),
        nn.Dropout: _simple("core.Dropout", p="p"), nn.Embedding: _embedding,
        nn.ReLU: _simple("act.ReLU"), nn.GELU: _gelu, nn.SiLU: _simple("act.SiLU"),
        nn.Sigmoid: _simple("act.Sigmoid"), nn.Tanh: _simple("act.Tanh"),
        nn.LeakyReLU: _simple("act.LeakyReLU", negative_slope="negative_slope"),
        nn.ELU: _simple("act.ELU", alpha="alpha"), nn.Softplus: _softplus,
        nn.Softmax: _softmax("act.Softmax"), nn.LogSoftmax: _softmax("act.LogSoftmax"),
        nn.RNN: _recurrent("rnn.RNN"), nn.LSTM: _recurrent("rnn.LSTM"),
        nn.GRU: _recurrent("rnn.GRU"),
    }


# -- function and method handlers --------------------------------------------------------------

def _arg(node, i: int, name: str, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def _fx_nodes(values) -> list:
    from torch import fx
    return [v for v in values if isinstance(v, fx.Node)]


def _binary(spec: str):
    def handler(node, shapes):
        from torch import fx
        a, b = node.args[0], _arg(node, 1, "other")
        _require(isinstance(a, fx.Node) and isinstance(b, fx.Node)
                 and shapes.is_tensor(a) and shapes.is_tensor(b),
                 "an operand that is a constant, not a tensor")
        _require(node.kwargs.get("alpha", 1) == 1, "alpha")
        _require(shapes.shape(a) == shapes.shape(b),
                 f"broadcasting {tuple(shapes.shape(a))} with {tuple(shapes.shape(b))}")
        return Mapped(spec, {"inputs": 2}, [a, b])
    return handler


def _cat(node, shapes):
    tensors = list(_arg(node, 0, "tensors"))
    dim = _arg(node, 1, "dim", 0)
    _require(dim != 0, "concatenation along the batch axis (dim=0)")
    _require(len(tensors) >= 2, "fewer than two tensors")
    _require(all(shapes.is_tensor(t) for t in tensors), "a constant operand")
    return Mapped("merge.Concatenate", {"inputs": len(tensors), "axis": dim}, tensors)


def _reshape(node, shapes):
    src = node.args[0]
    ins, out = shapes.shape(src), shapes.shape(node)
    _require(len(out) >= 1 and out[0] == ins[0],
             f"a reshape that changes the batch dimension ({tuple(ins)} -> {tuple(out)})")
    if len(out) == 2:
        return Mapped("core.Flatten", {}, [src])
    return Mapped("core.Reshape", {"shape": list(out[1:])}, [src])


def _flatten_fn(node, shapes):
    start, end = _arg(node, 1, "start_dim", 0), _arg(node, 2, "end_dim", -1)
    _require(start != 0, "flattening the batch axis (start_dim=0)")
    if end == -1 and start == 1:
        return Mapped("core.Flatten", {}, [node.args[0]])
    return _reshape(node, shapes)


def _permute(node, shapes):
    dims = node.args[1:] if node.op == "call_method" and len(node.args) > 2 else \
        _arg(node, 1, "dims")
    rank = len(shapes.shape(node.args[0]))
    dims = [d % rank for d in dims]
    _require(dims[0] == 0, "moving the batch axis")
    return Mapped("core.Permute", {"dims": dims[1:]}, [node.args[0]])


def _transpose(node, shapes):
    rank = len(shapes.shape(node.args[0]))
    a, b = _arg(node, 1, "dim0") % rank, _arg(node, 2, "dim1") % rank
    _require(0 not in (a, b), "moving the batch axis")
    dims = list(range(rank))
    dims[a], dims[b] = dims[b], dims[a]
    return Mapped("core.Permute", {"dims": dims[1:]}, [node.args[0]])


def _act(spec: str, **kw: tuple[int, str, Any]):
    """An activation function; kw maps a Studio param to (position, keyword, default)."""
    def handler(node, shapes):
        params = {k: _arg(node, i, name, d) for k, (i, name, d) in kw.items()}
        if spec in ("act.Softmax", "act.LogSoftmax"):
            _require(params["dim"] is not None, "an implicit dim (pass dim=...)")
        return Mapped(spec, params, [node.args[0]])
    return handler


def _softplus_fn(node, shapes):
    _require(_arg(node, 2, "threshold", 20) == 20, "a threshold other than 20")
    return Mapped("act.Softplus", {"beta": float(_arg(node, 1, "beta", 1.0))}, [node.args[0]])


def _gelu_fn(node, shapes):
    _require(node.kwargs.get("approximate", "none") == "none", "approximate='tanh'")
    return Mapped("act.GELU", {}, [node.args[0]])


def _dropout_fn(node, shapes):
    return Mapped("core.Dropout", {"p": float(_arg(node, 1, "p", 0.5))}, [node.args[0]])


def _pool_fn(spec: str, kind: str):
    def handler(node, shapes):
        k = _ints(_arg(node, 1, "kernel_size"))
        stride = _arg(node, 2, "stride", None)
        stride = 0 if stride in (None, [], ()) else _ints(stride)
        pad = _ints(_arg(node, 3, "padding", 0))
        _require(not _arg(node, 4 if kind == "avg" else 5, "ceil_mode", False), "ceil_mode")
        if kind == "max":
            _require(_ints(_arg(node, 4, "dilation", 1)) in (1, [1, 1], [1]), "dilation")
            _require(not node.kwargs.get("return_indices", False), "return_indices")
        else:
            _require(_arg(node, 5, "count_include_pad", True), "count_include_pad=False")
            _require(_arg(node, 6, "divisor_override", None) is None, "divisor_override")
        return Mapped(spec, {"kernel_size": k, "stride": 0 if stride == k else stride,
                             "padding": pad}, [node.args[0]])
    return handler


def _adaptive_fn(spec: str):
    def handler(node, shapes):
        size = _arg(node, 1, "output_size")
        _require(size is not None and (not isinstance(size, tuple) or None not in size),
                 "an output size of None")
        return Mapped(spec, {"output_size": _ints(size)}, [node.args[0]])
    return handler


def _mean(node, shapes):
    x = node.args[0]
    rank = len(shapes.shape(x))
    dims = _arg(node, 1, "dim")
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    _require(rank >= 3 and sorted(d % rank for d in dims) == list(range(2, rank))
             and not _arg(node, 2, "keepdim", False),
             "a mean that is not over all spatial axes")
    return Mapped("pool.GlobalAvgPool", {}, [x])


def _alias(node, shapes):
    return Mapped(alias=node.args[0])


def _function_handlers() -> dict:
    import torch
    import torch.nn.functional as F

    dim = {"dim": (1, "dim", None)}
    table = {
        operator.add: _binary("merge.Add"), torch.add: _binary("merge.Add"),
        operator.iadd: _binary("merge.Add"),
        operator.mul: _binary("merge.Multiply"), torch.mul: _binary("merge.Multiply"),
        operator.imul: _binary("merge.Multiply"),
        torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat,
        torch.flatten: _flatten_fn, torch.reshape: _reshape, torch.permute: _permute,
        torch.transpose: _transpose, torch.mean: _mean,
        F.relu: _act("act.ReLU"), torch.relu: _act("act.ReLU"),
        torch.sigmoid: _act("act.Sigmoid"), F.sigmoid: _act("act.Sigmoid"),
        torch.tanh: _act("act.Tanh"), F.tanh: _act("act.Tanh"),
        F.gelu: _gelu_fn, F.silu: _act("act.SiLU"),
        F.leaky_relu: _act("act.LeakyReLU", negative_slope=(1, "negative_slope", 0.01)),
        F.elu: _act("act.ELU", alpha=(1, "alpha", 1.0)), F.softplus: _softplus_fn,
        F.softmax: _act("act.Softmax", **dim), torch.softmax: _act("act.Softmax", **dim),
        F.log_softmax: _act("act.LogSoftmax", **dim),
        torch.log_softmax: _act("act.LogSoftmax", **dim),
        F.dropout: _dropout_fn,
        F.max_pool1d: _pool_fn("pool.MaxPool1d", "max"),
        F.max_pool2d: _pool_fn("pool.MaxPool2d", "max"),
        F.avg_pool1d: _pool_fn("pool.AvgPool1d", "avg"),
        F.avg_pool2d: _pool_fn("pool.AvgPool2d", "avg"),
        F.adaptive_avg_pool1d: _adaptive_fn("pool.AdaptiveAvgPool1d"),
        F.adaptive_avg_pool2d: _adaptive_fn("pool.AdaptiveAvgPool2d"),
    }
    return table


_METHODS: dict[str, Callable] = {
    "add": _binary("merge.Add"), "mul": _binary("merge.Multiply"),
    "view": _reshape, "reshape": _reshape, "flatten": _flatten_fn, "permute": _permute,
    "transpose": _transpose, "mean": _mean, "contiguous": _alias,
    "relu": _act("act.ReLU"), "sigmoid": _act("act.Sigmoid"), "tanh": _act("act.Tanh"),
    "softmax": _act("act.Softmax", dim=(1, "dim", None)),
    "log_softmax": _act("act.LogSoftmax", dim=(1, "dim", None)),
}
_META_METHODS = {"size", "dim"}
_FUNCTIONAL_NAMES: dict = {}


def _init_functional_names() -> None:
    import torch.nn.functional as F
    if not _FUNCTIONAL_NAMES:
        for name in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
                     "adaptive_max_pool1d", "adaptive_max_pool2d"):
            _FUNCTIONAL_NAMES[getattr(F, name)] = name


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
        from torch import fx

        _init_functional_names()
        self.module = module
        self.inputs = inputs
        self.input_names = input_names
        try:
            self.gm = fx.symbolic_trace(module)
        except Exception as exc:  # noqa: BLE001 (user code may raise anything)
            raise ImportModelError(f"torch.fx cannot trace {type(module).__name__}: "
                                   f"{type(exc).__name__}: {exc}") from None
        self.shapes = _Shapes(self.gm, inputs)
        self.graph = Graph()
        self.values: dict = {}
        self.module_nodes: dict[int, str] = {}  # id(submodule with weights) -> node name
        self.modules = _module_handlers()
        self.functions = _function_handlers()
        self.recurrent_modes: dict[str, str] = {}
        self.shape_of: dict[str, tuple] = {}  # studio node id -> expected output shape

    def error(self, node, why: str) -> ImportModelError:
        return ImportModelError(f"cannot import node '{node.name}' ({self.describe(node)}): "
                                f"{why}")

    def describe(self, node) -> str:
        if node.op == "call_module":
            return _module_label(self.gm.get_submodule(node.target))
        return describe_target(node)

    def run(self) -> Graph:
        placeholders = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != len(self.inputs):
            raise ImportModelError(f"the model's forward takes {len(placeholders)} inputs but "
                                   f"{len(self.inputs)} example inputs were given")
        for node in self.gm.graph.nodes:
            handler = getattr(self, f"_op_{node.op}")
            handler(node)
        self._finish()
        return self.graph

    # ops --------------------------------------------------------------------------------
    def _op_placeholder(self, node) -> None:
        i = len(self.graph.inputs())
        x = self.inputs[i]
        if x.dim() < 2:
            raise ImportModelError(f"example input {i + 1} for '{node.name}' has shape "
                                   f"{tuple(x.shape)}: give a batch dimension first")
        dtype = "float" if x.is_floating_point() else "long"
        name = self.input_names[i] if self.input_names else node.name
        n = self.graph.add_node("io.Input", {"shape": list(x.shape[1:]), "dtype": dtype},
                                name=self.graph.unique_name(name))
        self.values[node] = TensorValue(n.id)

    def _op_get_attr(self, node) -> None:
        raise self.error(node, "a tensor attribute used directly in forward has no Studio "
                         "layer (wrap it in a module such as nn.Linear)")

    def _op_output(self, node) -> None:
        outs = node.args[0]
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        for i, out in enumerate(outs):
            value = self.values.get(out)
            if not isinstance(value, TensorValue):
                raise ImportModelError(f"output {i + 1} of the model is not a tensor Studio "
                                       "can represent")
            name = "output" if len(outs) == 1 else f"output{i + 1}"
            o = self.graph.add_node("io.Output", {}, name=self.graph.unique_name(name))
            self.graph.connect(value.node, value.port, o.id, "in")

    def _op_call_module(self, node) -> None:
        module = self.gm.get_submodule(node.target)
        handler = self.modules.get(type(module))
        if handler is None:
            raise self.error(node, "no Studio layer for it")
        try:
            spec, params = handler(module)
        except _Unsupported as exc:
            raise self.error(node, f"Studio's layer does not support {exc}") from None
        has_state = any(True for _ in module.parameters()) or any(True for _ in module.buffers())
        if has_state and id(module) in self.module_nodes:
            raise self.error(node, f"the module is also used by node "
                             f"'{self.module_nodes[id(module)]}'; Studio nodes cannot share "
                             "weights")
        self.module_nodes[id(module)] = node.name
        self._add(node, Mapped(spec, params, [node.args[0]], module=module))
        if spec.startswith("rnn."):
            value = self.values[node]
            self.values[node] = RecurrentValue(value.node, spec, module.bidirectional)
            self.recurrent_modes[value.node] = ""

    def _op_call_function(self, node) -> None:
        if node.target is getattr:
            return self._meta(node, [node.args[0]])
        if node.target is operator.getitem:
            return self._getitem(node)
        handler = self.functions.get(node.target)
        self._call(node, handler)

    def _op_call_method(self, node) -> None:
        if node.target in _META_METHODS:
            return self._meta(node, [node.args[0]])
        self._call(node, _METHODS.get(node.target))

    # helpers ----------------------------------------------------------------------------
    def _call(self, node, handler) -> None:
        if handler is None:
            raise self.error(node, "no Studio layer for it")
        for arg in _fx_nodes([*node.args, *node.kwargs.values()]):
            if isinstance(self.values.get(arg), RecurrentValue):
                raise self.error(node, "uses a recurrent layer's output tuple directly")
        try:
            mapped = handler(node, self.shapes)
        except _Unsupported as exc:
            raise self.error(node, f"Studio's layer does not support {exc}") from None
        self._add(node, mapped)

    def _meta(self, node, sources) -> None:
        self.values[node] = MetaValue()

    def _tensor(self, node, arg) -> TensorValue:
        value = self.values.get(arg)
        if not isinstance(value, TensorValue):
            raise self.error(node, f"its input '{getattr(arg, 'name', arg)}' is not a tensor "
                             "Studio can represent")
        return value

    def _add(self, node, mapped: Mapped) -> None:
        if mapped.alias is not None:
            self.values[node] = self._tensor(node, mapped.alias)
            return
        sources = [self._tensor(node, a) for a in mapped.inputs]
        try:
            n = self.graph.add_node(mapped.spec, mapped.params,
                                    name=self.graph.unique_name(node.name))
        except Exception as exc:  # noqa: BLE001 (RegistryError, ParamError, ...)
            raise self.error(node, str(exc)) from None
        for src, port in zip(sources, n.input_ports()):
            self.graph.connect(src.node, src.port, n.id, port)
        if mapped.module is not None:
            state = mapped.module.state_dict()
            if state:
                self.graph.weights[n.id] = {k: v.detach().cpu().numpy().copy()
                                            for k, v in state.items()}
        if self.shapes.is_tensor(node):
            self.shape_of[n.id] = self.shapes.shape(node)[1:]
        self.values[node] = TensorValue(n.id)

    def _getitem(self, node) -> None:
        src, index = node.args
        value = self.values.get(src)
        if not node.users:  # tuple unpacking makes items nobody uses (`out, _ = lstm(x)`)
            return self._meta(node, [src])
        if isinstance(value, MetaValue):
            return self._meta(node, [src])
        if isinstance(value, RecurrentValue):
            return self._recurrent_item(node, value, index)
        if isinstance(value, TensorValue) and value.node in self.recurrent_modes and \
                index == (slice(None), -1) and len(src.users) == 1:
            self._set_mode(node, value.node, "last")
            self.values[node] = value
            self._record_shape(node, value.node)
            return
        raise self.error(node, "indexing/slicing tensors has no Studio layer")

    def _recurrent_item(self, node, value: RecurrentValue, index) -> None:
        part = (*value.part, index)
        if part == (0,):
            self._set_mode(node, value.node, "sequence")
            self.values[node] = TensorValue(value.node)
            self._record_shape(node, value.node)
        elif part in ((1,),) or (value.kind == "rnn.LSTM" and part == (1, 0)):
            self.values[node] = RecurrentValue(value.node, value.kind, value.bidirectional,
                                               part)
        elif value.kind == "rnn.LSTM" and part == (1, 1):
            raise self.error(node, "Studio's LSTM node does not output the cell state")
        elif part[-1] == -1 and part[:-1] in ((1,), (1, 0)) and \
                (value.kind == "rnn.LSTM") == (part[:-1] == (1, 0)):
            if value.bidirectional:
                raise self.error(node, "use the output sequence of a bidirectional layer; "
                                 "Studio's 'hidden' output joins both directions")
            self._set_mode(node, value.node, "hidden")
            self.values[node] = TensorValue(value.node)
            self._record_shape(node, value.node)
        else:
            raise self.error(node, f"this part {part} of a recurrent layer's output has no "
                             "Studio equivalent")

    def _set_mode(self, node, nid: str, mode: str) -> None:
        current = self.recurrent_modes.get(nid, "")
        if current and current != mode and not (current == "sequence" and mode == "last"):
            raise self.error(node, f"the model uses both the {current} and the {mode} output "
                             f"of '{self.graph.nodes[nid].name}'; a Studio node outputs one")
        self.recurrent_modes[nid] = mode
        self.graph.set_param(nid, "output", mode)

    def _record_shape(self, node, nid: str) -> None:
        if self.shapes.is_tensor(node):
            self.shape_of[nid] = self.shapes.shape(node)[1:]

    # checks and layout ------------------------------------------------------------------
    def _finish(self) -> None:
        if not self.graph.outputs():
            raise ImportModelError("the model returns no tensor")
        report = validate(self.graph)
        if not report.ok:
            msgs = "; ".join(i.message for i in report.errors[:3])
            raise ImportModelError(f"the imported graph is not valid: {msgs}")
        for nid, shape in self.shape_of.items():
            got = report.out_types[nid][0].shape if report.out_types.get(nid) else None
            if got is not None and tuple(got) != tuple(shape):
                name = self.graph.nodes[nid].name
                raise ImportModelError(f"node '{name}': Studio infers the shape {got}, the "
                                       f"model produces {tuple(shape)}")
        layout(self.graph)


def layout(graph: Graph, dx: float = 190.0, dy: float = 120.0) -> None:
    """Place nodes left to right by topological generation, each column centred on y=200."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from((e.src, e.dst) for e in graph.edges)
    order = list(graph.nodes)
    for col, generation in enumerate(nx.topological_generations(g)):
        generation = sorted(generation, key=order.index)
        for row, nid in enumerate(generation):
            y = 200.0 + dy * (row - (len(generation) - 1) / 2)
            graph.set_position(nid, (60.0 + dx * col, y))


def import_module(module, example_input, input_names: list[str] | None = None) -> Graph:
    """Trace `module` with torch.fx and return a Studio graph computing the same function, the
    module's weights attached in `graph.weights` (node id -> tensor name -> numpy array), so
    `compile_graph(graph)` reproduces the module. `example_input` is a tensor (or a tuple of
    tensors, one per forward argument) with a batch dimension first. Raises ImportModelError
    naming the traced node and operation that has no Studio layer."""
    inputs = tuple(example_input) if isinstance(example_input, (tuple, list)) else \
        (example_input,)
    return _Importer(module, inputs, input_names).run()


__all__ = ["ImportModelError", "import_module", "layout"]
