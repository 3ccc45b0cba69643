"""The ONNX front end: open an .onnx file as an editable Studio graph with its weights.

    graph = import_onnx("model.onnx")

Every node is mapped onto registered layer specs (onnx_rules) and handed to the GraphBuilder.
Tensors are tracked as views of batch-first Studio tensors (layout.py), so Transpose, Reshape,
Squeeze and Unsqueeze add nodes only where a layer needs them. A node whose inputs are all
known at import time (initializers, constants, shapes: the Shape -> Gather -> Concat ->
Reshape chains exporters emit) is folded with ONNX's reference implementation; shapes are
folded at two batch sizes so that an axis derived from the batch stays the batch. Nothing is
executed but those numpy reference ops on constants.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .builder import GraphBuilder, ImportModelError, Origin, Wire
from .layout import LayoutError, View, Views
from .model_file import ModelFileError, budget_bytes, load_onnx, malformed_is_an_error

OPSETS = (11, 21)          # default-domain opsets Studio reads (13 to 21 are tested)
BATCHES = (7, 11)          # the two batch sizes shapes are folded at
_RANDOM = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
           "Multinomial", "Bernoulli"}


def attrs(node) -> dict:
    """An ONNX node's attributes as plain Python values (bytes decoded)."""
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, list):
            v = [x.decode() if isinstance(x, bytes) else x for x in v]
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


@dataclass(frozen=True)
class Const:
    """A tensor known at import time. `alt` is its value at the second batch size when it
    depends on the batch (a shape), else None. `weight`: it is a model weight (an
    initializer), so a node made of it is learnable."""

    value: np.ndarray
    alt: np.ndarray | None = None
    weight: bool = False

    @property
    def static(self) -> bool:
        return self.alt is None

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        return self.value, self.value if self.alt is None else self.alt


class Importer:
    """One ONNX model being imported; onnx_rules' handlers call its helpers."""

    def __init__(self, model, path: Path, input_shapes: dict | None = None):
        self.model = model
        self.path = path
        self.opset = _opset(model, path)
        self.builder = GraphBuilder()
        self.views = Views(self.builder)
        self.values: dict[str, Any] = {}
        self.input_shapes = dict(input_shapes or {})
        self.static_batch: int | None = None
        self.consumers: dict[str, list] = defaultdict(list)
        for node in model.graph.node:
            for name in node.input:
                self.consumers[name].append(node)
        self.graph_outputs = {o.name for o in model.graph.output}
        self.done: set[int] = set()   # ids of nodes already handled by a fused pattern

    # values ------------------------------------------------------------------------------
    def origin(self, node) -> Origin:
        return Origin(node.name or (node.output[0] if node.output else node.op_type),
                      node.op_type, f"{self.path.name}, opset {self.opset}")

    def error(self, node, why: str) -> ImportModelError:
        return ImportModelError(why, self.origin(node))

    def value(self, node, i: int, default=None):
        if i >= len(node.input) or not node.input[i]:
            return default
        return self.values[node.input[i]]

    def const(self, node, i: int, what: str, default=None, static: bool = True):
        v = self.value(node, i)
        if v is None:
            if default is not None:
                return default
            raise self.error(node, f"its {what} (input {i + 1}) is missing")
        if not isinstance(v, Const):
            raise self.error(node, f"its {what} must be a constant known when importing, not "
                             "computed from the model's input")
        if static and not v.static:
            raise self.error(node, f"its {what} depends on the batch size")
        return v.value if static else v

    def view(self, node, i: int = 0, what: str = "input") -> View:
        v = self.value(node, i)
        if not isinstance(v, View):
            raise self.error(node, f"its {what} (input {i + 1}) is not a tensor Studio can "
                             "represent here")
        return v

    def used(self, name: str) -> bool:
        return bool(name) and (name in self.graph_outputs or bool(self.consumers.get(name)))

    # building ----------------------------------------------------------------------------
    def add(self, node, spec: str, params: dict, inputs: list[Wire], weights=None,
            trainable: bool = True, suffix: str = "") -> Wire:
        return self.builder.add(spec, params, inputs, self.origin(node), weights=weights,
                                trainable=trainable, name=self.node_name(node) + suffix)

    def node_name(self, node) -> str:
        """A readable name: the module path of torch exports ('/encoder/Gemm' -> 'encoder'),
        the weight's owner ('conv1.weight' -> 'conv1'), else the node name or op type."""
        for name in node.input[1:2]:
            v = self.values.get(name)
            if isinstance(v, Const) and v.weight and re.search(r"\.(weight|W)$", name):
                return name.rsplit(".", 1)[0]
        parts = [p for p in node.name.split("/") if p]
        if len(parts) > 1 and parts[-1].startswith(node.op_type):
            parts = parts[:-1]
        return "_".join(parts) or node.op_type.lower()

    def materialize(self, node, v: View) -> Wire:
        return self.views.materialize(v, self.origin(node))

    def dense(self, node, i: int = 0, what: str = "input") -> tuple[Wire, tuple[int, ...]]:
        """Input `i` as a batch-first Studio wire and its per-sample shape."""
        wire = self.materialize(node, self.view(node, i, what))
        return wire, tuple(self.builder.type_of(wire).shape)

    def shape_of(self, wire: Wire) -> tuple[int, ...]:
        return tuple(self.builder.type_of(wire).shape)

    def wrap(self, wire: Wire) -> View:
        """A batch-first wire as a View."""
        return View.of(wire, self.shape_of(wire))

    def reshape(self, node, v: View, target) -> View:
        try:
            return v.reshape(target)
        except LayoutError as exc:
            raise self.error(node, f"cannot reshape {_show(v)} to {_show_dims(target)} with "
                             f"the batch kept whole: {exc}") from None

    # the run -----------------------------------------------------------------------------
    def run(self):
        from .onnx_rules import HANDLERS

        self._initializers()
        self._inputs()
        for node in self.model.graph.node:
            if id(node) in self.done:
                continue
            for name in node.input:
                if name and name not in self.values:
                    raise self.error(node, f"its input {name!r} is not produced before it "
                                     "(the graph is not in order or refers to a missing "
                                     "tensor)")
            self._node(node, HANDLERS)
        for out in self.model.graph.output:
            v = self.values.get(out.name)
            if not isinstance(v, View):
                raise ImportModelError(f"{self.path}: the model output {out.name!r} does not "
                                       "depend on the input; Studio cannot make it a layer")
            wire = self.views.materialize(v, Origin(out.name, "output"), "the output")
            self.builder.output(wire, out.name)
        return self.builder.finish()

    def _node(self, node, handlers) -> None:
        if node.domain not in ("", "ai.onnx"):
            raise self.error(node, f"operators of the domain {node.domain!r} have no Studio "
                             "layer")
        ins = [self.values.get(n) if n else None for n in node.input]
        if node.op_type not in _RANDOM and ins and all(v is None or isinstance(v, Const)
                                                        for v in ins) \
                and any(isinstance(v, Const) for v in ins) or node.op_type in ("Constant",):
            outs = self.fold(node)
        else:
            handler = handlers.get(node.op_type)
            if handler is None:
                raise self.error(node, "no Studio layer for this operator")
            outs = handler(self, node)
        for name, value in zip(node.output, outs):
            if name:
                self.values[name] = value

    def fold(self, node) -> list[Const]:
        """Run `node` on its constant inputs with ONNX's reference implementation (at both
        batch sizes when an input depends on the batch)."""
        from onnx.reference import ReferenceEvaluator

        consts = [self.values.get(n) if n else None for n in node.input]
        _check_fold_size(self, node, consts)
        try:
            ref = ReferenceEvaluator(node, opsets={"": self.opset})
            feeds = [{n: c.values()[k] for n, c in zip(node.input, consts) if n}
                     for k in (0, 1)]
            first = ref.run(None, feeds[0])
            alt = ref.run(None, feeds[1]) if any(c is not None and not c.static
                                                  for c in consts) else first
        except ImportModelError:
            raise
        except Exception as exc:  # noqa: BLE001 (the reference ops raise many types)
            raise self.error(node, f"computing it on constants failed: "
                             f"{type(exc).__name__}: {str(exc)[:200]}") from None
        weight = any(c is not None and c.weight for c in consts)
        out = []
        for a, b in zip(first, alt):
            a, b = np.asarray(a), np.asarray(b)
            same = a.shape == b.shape and np.array_equal(a, b)
            out.append(Const(a, None if same else b, weight))
        return out

    def _initializers(self) -> None:
        from onnx import numpy_helper

        for t in self.model.graph.initializer:
            try:
                self.values[t.name] = Const(numpy_helper.to_array(t), None, True)
            except Exception as exc:  # noqa: BLE001
                raise ModelFileError(f"{self.path}: tensor {t.name!r} cannot be read "
                                     f"({exc})") from None

    def _inputs(self) -> None:
        for inp in self.model.graph.input:
            if inp.name in self.values:
                continue  # an initializer listed as an input (old exporters)
            shape, batch_axis = self._input_shape(inp)
            tt = inp.type.tensor_type
            from onnx import TensorProto
            if tt.elem_type in (TensorProto.INT64, TensorProto.INT32):
                dtype = "long"
            elif tt.elem_type in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16,
                                  TensorProto.BFLOAT16):
                dtype = "float"
            else:
                raise ImportModelError(f"{self.path}: input {inp.name!r} has element type "
                                       f"{TensorProto.DataType.Name(tt.elem_type)}; Studio "
                                       "inputs are float or integer ids")
            sample = tuple(d for i, d in enumerate(shape) if i != batch_axis)
            wire = self.builder.input(inp.name, sample, dtype)
            self.values[inp.name] = View.of(wire, sample, batch_axis)

    def _input_shape(self, inp) -> tuple[list[int], int]:
        """The input's sizes (the batch axis as 1) and which axis is the batch."""
        if inp.name in self.input_shapes:
            dims = list(self.input_shapes[inp.name])
            return dims, 0
        if not inp.type.HasField("tensor_type") or not inp.type.tensor_type.HasField("shape"):
            raise ImportModelError(f"{self.path}: input {inp.name!r} has no declared shape; "
                                   "give one (input_shapes)")
        dims = inp.type.tensor_type.shape.dim
        sizes = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                 for d in dims]
        dynamic = [i for i, s in enumerate(sizes) if s is None]
        if not sizes:
            raise ImportModelError(f"{self.path}: input {inp.name!r} is a scalar; Studio "
                                   "inputs have a batch axis")
        batch_axis = dynamic[0] if dynamic else 0
        if len(dynamic) > 1:
            names = [dims[i].dim_param or "?" for i in dynamic[1:]]
            raise ImportModelError(f"{self.path}: input {inp.name!r} has more than one "
                                   f"dynamic axis (axis {dynamic[1]} is {names[0]!r}); "
                                   "Studio needs fixed sizes besides the batch (give them "
                                   "with input_shapes)")
        if not dynamic:
            if self.static_batch not in (None, sizes[0]):
                raise ImportModelError(f"{self.path}: the inputs have different fixed batch "
                                       "sizes")
            self.static_batch = sizes[0]
            sizes[0] = None
        for i, s in enumerate(sizes):
            if s is not None and s > 10_000_000:
                raise ImportModelError(f"{self.path}: input {inp.name!r} declares axis {i} of "
                                       f"size {s}")
        return [1 if s is None else s for s in sizes], batch_axis

    @property
    def batches(self) -> tuple[int, int]:
        return (self.static_batch,) * 2 if self.static_batch else BATCHES


def _opset(model, path: Path) -> int:
    opsets = {o.domain: o.version for o in model.opset_import}
    version = opsets.get("", opsets.get("ai.onnx"))
    if version is None:
        raise ModelFileError(f"{path}: the model does not say which ONNX opset it uses")
    lo, hi = OPSETS
    if not lo <= version <= hi:
        raise ModelFileError(f"{path}: ONNX opset {version} is not supported (Studio reads "
                             f"opsets {lo} to {hi}; convert the model with "
                             "onnx.version_converter)")
    return version


def _check_fold_size(imp: Importer, node, consts) -> None:
    """Refuse folding a node whose output would be absurdly large (a hostile shape), by an
    estimate made before anything is allocated."""
    limit = budget_bytes() // 4
    for k in (0, 1):
        arrays = [None if c is None else np.asarray(c.values()[k]) for c in consts]
        try:
            n = _fold_elements(node.op_type, arrays)
        except (ValueError, TypeError, IndexError, OverflowError):
            n = 0  # malformed: the reference op reports it
        if n * 8 > limit:
            raise imp.error(node, f"it would make a tensor of {n:,} elements")


def _fold_elements(op: str, a: list) -> int:
    """How many elements folding `op` on arrays `a` makes (an upper bound for expanders)."""
    def prod(values) -> int:
        return math.prod(max(int(v), 0) for v in np.asarray(values).reshape(-1))

    present = [x for x in a if x is not None]
    if op == "ConstantOfShape":
        return prod(a[0])
    if op == "Expand":
        return max(prod(a[0].shape), prod(np.abs(a[1]))) * max(1, prod(a[0].shape))
    if op == "Tile":
        return prod(a[0].shape) * prod(a[1])
    if op == "Range":
        start, stop, step = (float(np.asarray(x).reshape(-1)[0]) for x in a[:3])
        return max(0, math.ceil((stop - start) / step)) if step else 0
    if op == "Pad":
        return prod(np.asarray(a[0].shape) + 1) * max(1, prod(np.abs(a[1]) + 1))
    if op in ("MatMul", "Gemm"):
        return prod(a[0].shape) * prod(a[1].shape)
    if op in ("Resize", "Upsample", "OneHot", "Einsum", "ScatterND", "Trilu", "EyeLike"):
        return 2**62  # never folded: they have no place in a shape computation
    return max([prod(x.shape) for x in present] + [1]) * max(1, len(present))


def _show(v: View) -> str:
    return "×".join("N" if b and k == 1 else f"{k}N" if b else str(k) for k, b in v.dims())


def _show_dims(dims) -> str:
    return "×".join("N" if b and k == 1 else f"{k}N" if b else str(k) for k, b in dims)


def input_names(path) -> list[str]:
    """The names of the model's inputs (not its initializers), in order."""
    model = load_onnx(Path(path))
    inits = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def import_onnx(path, input_shapes: dict | None = None):
    """Import the ONNX model at `path` as a Studio graph with its weights in `graph.weights`
    (node id -> tensor name -> numpy array), like `import_module`. Input shapes come from the
    file (a dynamic axis is the batch); `input_shapes` ({name: full shape, batch first})
    overrides them. Raises ImportModelError naming the node, its op type and the opset, or
    ModelFileError for a file that cannot be read."""
    path = Path(path)
    with malformed_is_an_error(path, "ONNX model"):
        model = load_onnx(path)
        return Importer(model, path, input_shapes).run()
