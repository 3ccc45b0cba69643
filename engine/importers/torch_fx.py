"""The torch.fx front end: import an existing PyTorch `nn.Module` into a Studio graph.

    graph = import_module(model, torch.randn(1, 3, 32, 32))

The module is traced with torch.fx (fx_trace) and run twice on the example input (fx_record).
Every traced op that depends on the input's values becomes Studio nodes through its handler
(fx_modules, fx_functions, fx_shapes, fx_recurrent), which call the helpers of `FxImporter`
below; everything else (sizes, shape checks, tensors made from parameters alone) is folded
to constants, as a Studio graph is static. An op without a Studio layer is an
`ImportModelError` naming the fx node, the op and the line of the user's source that called
it, never a silent drop.
"""
from __future__ import annotations

from .builder import GraphBuilder, ImportModelError, Origin, Wire
from .fx_functions import function_handler, method_handler
from .fx_modules import Unsupported, handler_for
from .fx_names import describe_node
from .fx_record import BATCHES, TensorMeta, record
from .fx_recurrent import Recurrent, StateItem, materialize
from .fx_trace import trace
from .fx_values import SKIP, AttentionOut, Items, Skip, Tensor


class FxImporter:
    """Walks the traced graph once; handlers call the helpers below."""

    def __init__(self, module, inputs: tuple, input_names: list[str] | None):
        self.inputs = inputs
        self.input_names = input_names
        self.root = module
        self.graph = trace(module, len(inputs))
        self.rec = record(module, self.graph, inputs)
        self.builder = GraphBuilder()
        self.env: dict = {}
        self.live = self._live_nodes()
        self.module_users: dict[int, str] = {}       # id(module with weights) -> node name
        self._cache: dict = {}                       # shared Permute/Parameter/Slice nodes

    def run(self, blocks: bool = True):
        for node in self.graph.nodes:
            if node in self.live:
                self.env[node] = self._dispatch(node)
            else:
                self._check_unused(node)
        graph = self.builder.finish()
        if blocks:
            from .blocks import fold_blocks
            leaves = {n.target for n in self.graph.nodes if n.op == "call_module"}
            graph = fold_blocks(graph, self.builder.origins, self.root, leaves)
        return graph

    # walking ------------------------------------------------------------------------------
    def _live_nodes(self) -> set:
        out = next(n for n in reversed(self.graph.nodes) if n.op == "output")
        live, stack = set(), [out]
        while stack:
            n = stack.pop()
            if n not in live:
                live.add(n)
                stack.extend(n.all_input_nodes)
        return live

    def is_live(self, node) -> bool:
        return node in self.live

    def _check_unused(self, node) -> None:
        name = node.target if node.op == "call_method" else ""
        if isinstance(name, str) and name.endswith("_") and not name.endswith("__") and \
                self.rec[node].data:
            raise self.error(node, "an in-place update whose result is not used: write "
                             "x = x.op(...) so the traced graph sees it")

    def _dispatch(self, node):
        if node.op == "placeholder":
            return self._placeholder(node)
        if node.op == "output":
            return self._output(node)
        if not self.rec[node].data:
            return SKIP  # a constant: read from the record where it is used
        try:
            if node.op == "call_module":
                module = self.module(node)
                handler = handler_for(module)
                if handler is None:
                    raise Unsupported("no Studio layer for it")
                return handler(self, node, module)
            handler = function_handler(node.target) if node.op == "call_function" else \
                method_handler(node.target)
            if handler is None:
                raise Unsupported("no Studio layer for it")
            return handler(self, node)
        except Unsupported as exc:
            raise self.error(node, str(exc)) from None

    def _placeholder(self, node):
        i = len(self.builder.graph.inputs())
        if i >= len(self.inputs):  # an argument left at its default (`mask=None`)
            return SKIP
        x = self.inputs[i]
        if x.dim() < 2:
            raise ImportModelError(f"example input {i + 1} ('{node.name}') has shape "
                                   f"{tuple(x.shape)}: give a batch dimension first")
        dtype = "float" if x.is_floating_point() else "long"
        name = self.input_names[i] if self.input_names else node.name
        return Tensor(self.builder.input(name, tuple(x.shape[1:]), dtype))

    def _output(self, node) -> Skip:
        outs = node.args[0]
        outs = list(outs.values()) if isinstance(outs, dict) else \
            list(outs) if isinstance(outs, (tuple, list)) else [outs]
        for i, out in enumerate(outs):
            try:
                wire = self.tensor(out, node)
            except ImportModelError:
                raise ImportModelError(f"output {i + 1} of the model is not a tensor Studio "
                                       "can represent") from None
            self.builder.output(wire, "output" if len(outs) == 1 else f"output{i + 1}")
        return SKIP

    # helpers for handlers -------------------------------------------------------------------
    def origin(self, node) -> Origin:
        return Origin(node.name, describe_node(node, self.root),
                      node.meta.get("studio_location", ""), node.meta.get("studio_scope", ""))

    def error(self, node, why: str) -> ImportModelError:
        return ImportModelError(why, self.origin(node))

    def module(self, node):
        return self.root.get_submodule(node.target)

    @staticmethod
    def arg(node, i: int, name: str, default=None):
        """Argument `i` (or keyword `name`) of a call."""
        if len(node.args) > i:
            return node.args[i]
        return node.kwargs.get(name, default)

    def is_const(self, x) -> bool:
        """True if `x` does not depend on the input's values (a literal, a size, a tensor
        computed from parameters)."""
        from torch import fx

        if isinstance(x, fx.Node):
            return not self.rec[x].data
        if isinstance(x, (tuple, list)):
            return all(self.is_const(v) for v in x)
        if isinstance(x, slice):
            return all(self.is_const(v) for v in (x.start, x.stop, x.step))
        return True

    def runs(self, x) -> tuple:
        """The value of a constant argument in the two recorded runs (batch 2 and 3)."""
        from torch import fx

        if isinstance(x, fx.Node):
            return self.rec[x].runs
        if isinstance(x, (tuple, list)):
            pairs = [self.runs(v) for v in x]
            return tuple(type(x)(p[i] for p in pairs) for i in range(2))
        if isinstance(x, slice):
            a, b, c = (self.runs(v) for v in (x.start, x.stop, x.step))
            return slice(a[0], b[0], c[0]), slice(a[1], b[1], c[1])
        return x, x

    def const(self, x, node, what: str = "this argument"):
        """The Python value of a constant argument; Unsupported if it is a tensor of the
        model's data or depends on the batch size."""
        if not self.is_const(x):
            raise Unsupported(f"{what} is computed from the input; Studio needs a constant")
        first, second = self.runs(x)
        if not _same(first, second):
            raise Unsupported(f"{what} depends on the batch size ({first} vs {second} for "
                              f"batches {BATCHES[0]} and {BATCHES[1]})")
        return first

    def const_or_none(self, x):
        """The value of a constant argument, or True for a tensor of the model's data (so
        `if ctx.const_or_none(mask)` reads 'a mask was passed')."""
        if not self.is_const(x):
            return True
        return self.runs(x)[0]

    def is_zero_state(self, x) -> bool:
        """None, or constant tensors of zeros (an RNN's explicit initial state)."""
        import torch

        if x is None:
            return True
        if not self.is_const(x):
            return False
        runs = self.runs(x)
        flat = [v for r in runs for v in (r if isinstance(r, (tuple, list)) else (r,))]
        return all(v is None or (isinstance(v, torch.Tensor) and not v.any()) for v in flat)

    def meta(self, x) -> TensorMeta:
        """Shape and dtype (batch included, first run) of a tensor of the model's data."""
        value = self.rec[x].first
        if not isinstance(value, TensorMeta):
            raise Unsupported(f"'{x.name}' is not a single tensor")
        return value

    def sample_shape(self, x) -> tuple[int, ...] | None:
        """The per-sample shape of `x` if it is a batch-first tensor in both runs."""
        a, b = self.rec[x].runs
        if isinstance(a, TensorMeta) and isinstance(b, TensorMeta) and a.shape[:1] == \
                (BATCHES[0],) and b.shape[:1] == (BATCHES[1],) and a.shape[1:] == b.shape[1:]:
            return a.shape[1:]
        return None

    def tval(self, x, node) -> Tensor:
        """The Tensor value of an argument (any axis order)."""
        value = self.env.get(x)
        if isinstance(value, Tensor):
            return value
        if isinstance(value, StateItem):
            return materialize(self, node, value)
        if isinstance(value, (Recurrent, AttentionOut, Items)):
            raise Unsupported(f"uses '{x.name}', a tuple of tensors, as one tensor")
        name = getattr(x, "name", repr(x))
        raise Unsupported(f"its input '{name}' is not a tensor Studio can represent")

    def tensor(self, x, node) -> Wire:
        """A batch-first wire for an argument (a Permute is added if the model moved axes)."""
        t = self.tval(x, node)
        if t.perm is None:
            return t.wire
        if t.perm[0] != 0:
            raise Unsupported(f"uses '{x.name}', whose batch axis was moved to axis "
                              f"{t.perm.index(0)}; Studio keeps the batch first")
        key = ("permute", t.wire, t.perm)
        if key not in self._cache:
            src = self.builder.graph.nodes[t.wire.node].name
            self._cache[key] = self.builder.add(
                "core.Permute", {"dims": list(t.perm[1:])}, [t.wire], self.origin(x),
                name=f"{src}_permute")
        return self._cache[key]

    def tensor_of(self, wire: Wire) -> Tensor:
        return Tensor(wire)

    def add(self, node, spec: str, params: dict, inputs: list, *, weights=None, module=None,
            trainable: bool = True, shape: bool = True, name: str | None = None) -> Tensor:
        """A node of `spec` on `inputs` (fx arguments or wires) for fx `node`. `module`:
        the submodule the weights come from (a module used twice is refused). `shape`:
        check Studio's inferred shape against the one the model produced."""
        if module is not None and (weights or any(True for _ in module.parameters())):
            user = self.module_users.setdefault(id(module), node.name)
            if user != node.name:
                raise Unsupported(f"the module is also used by node '{user}'; Studio "
                                  "nodes cannot share weights")
        wires = [w if isinstance(w, Wire) else self.tensor(w, node) for w in inputs]
        expected = self.sample_shape(node) if shape else None
        return Tensor(self.builder.add(spec, params, wires, self.origin(node), weights=weights,
                                       shape=expected, trainable=trainable, name=name))

    def slice_of(self, node, wire: Wire, index: str, name: str) -> Tensor:
        key = ("slice", wire, index)
        if key not in self._cache:
            self._cache[key] = self.builder.add("core.Slice", {"index": index}, [wire],
                                                self.origin(node), name=name)
        return Tensor(self._cache[key])

    def const_tensor(self, x, node, like: Tensor, rank: int) -> Wire:
        """A constant tensor (a parameter, a buffer, or made from them) combined with a
        tensor of `rank` axes: a Parameter node whose batch comes from `like`."""
        import torch

        a, b = self.runs(x)
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            raise Unsupported(f"'{getattr(x, 'name', x)}' is not a tensor")
        if a.shape == b.shape and torch.equal(a, b):
            if a.dim() > rank:
                raise Unsupported(f"a constant of shape {tuple(a.shape)} has more axes than "
                                  f"the tensor it is combined with ({rank})")
            value = a.reshape((1,) * (rank - a.dim()) + tuple(a.shape))
            if value.shape[0] != 1:
                raise Unsupported(f"a constant of shape {tuple(a.shape)} would broadcast "
                                  "over the batch axis")
            value = value[0]
        elif a.shape[:1] == (BATCHES[0],) and b.shape[:1] == (BATCHES[1],) and \
                a.shape[1:] == b.shape[1:] and bool((a == a[:1]).all()) and \
                torch.equal(a[0], b[0]):
            value = a[0]  # expanded to the batch: the same for every sample
        else:
            raise Unsupported(f"a constant tensor whose shape depends on the batch "
                              f"({tuple(a.shape)} vs {tuple(b.shape)})")
        if value.dim() == 0 or 0 in value.shape:
            raise Unsupported("a constant with no sample axes")
        learnable = self.rec[x].param if hasattr(x, "name") else False
        sliced = self._sliced_parameter(x, node, like, rank)
        if sliced is not None:
            return sliced
        key = ("const", x, tuple(value.shape))
        if key not in self._cache:
            self._cache[key] = self.builder.add(
                "core.Parameter", {"shape": list(value.shape), "learnable": learnable},
                [like.wire], self.origin(x), weights={"weight": value},
                name=_const_name(x))
        return self._cache[key]

    def _sliced_parameter(self, x, node, like: Tensor, rank: int) -> Wire | None:
        """`self.pos_embed[:, 1:]`: the whole parameter as a node and a Slice of it, so the
        parameter count stays the model's."""
        import operator

        if getattr(x, "op", "") != "call_function" or x.target is not operator.getitem:
            return None
        src, index = x.args
        if getattr(src, "op", "") != "get_attr" or not self.rec[src].param:
            return None
        items = list(index) if isinstance(index, tuple) else [index]
        items = [self.const(i, node, "the index") for i in items]
        if not all(isinstance(i, slice) or i is Ellipsis for i in items) or \
                self.rec[src].first.dim() != rank:
            return None
        whole = Tensor(self.const_tensor(src, node, like, rank))
        from .fx_shapes import take
        return take(self, x, src, items, whole).wire

    def implicit_softmax_dim(self, node, x) -> int:
        """softmax without dim: torch's legacy choice (1 unless the input has 0, 1 or 3
        axes)."""
        rank = len(self.meta(x).shape)
        if rank in (0, 1, 3):
            raise Unsupported("softmax without dim on this input runs over the batch axis; "
                              "pass dim=...")
        return 1

    def reshape(self, node, x) -> Tensor:
        from .fx_shapes import reshape_to_output
        return reshape_to_output(self, node, x)


def _same(a, b) -> bool:
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and \
            a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _const_name(x) -> str:
    """A constant's node name: the parameter it is made from ('cls_token', 'pos_embed')."""
    seen, stack = set(), [x]
    while stack:
        n = stack.pop()
        if n in seen or not hasattr(n, "op"):
            continue
        seen.add(n)
        if n.op == "get_attr":
            return n.target.replace(".", "_")
        stack.extend(n.all_input_nodes)
    return getattr(x, "name", "constant")


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
    return FxImporter(module, inputs, input_names).run(blocks)
