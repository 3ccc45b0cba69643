"""The Keras front end: open a .keras (Keras 3) or legacy .h5 (Keras 2) model as an editable
Studio graph with its weights, read with json and h5py only (keras_file).

    graph = import_keras("model.keras")

Keras is channels-last, Studio (PyTorch) channels-first. Each Keras tensor is kept as a Studio
wire plus whether its channel axis has been `moved` to the front; layers that need channels
first (convolutions, pooling, batch norm, padding, upsampling) move it, layers that read the
last axis (Dense, Flatten, Reshape, recurrent layers) move it back, so Permutes appear only
where the model needs them (after the input and before a Flatten), and kernels are transposed
to PyTorch's layout, so the outputs equal Keras' own.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .builder import GraphBuilder, ImportModelError, Origin, Wire
from .keras_file import KerasModel, load_keras
from .model_file import ModelFileError, malformed_is_an_error


@dataclass(frozen=True)
class KValue:
    """A Keras tensor: Studio `wire`; `moved` when its channel axis (Keras' last) is axis 1."""

    wire: Wire
    moved: bool = False


class KerasImporter:
    """One Keras model being imported; keras_rules' handlers call its helpers."""

    def __init__(self, km: KerasModel):
        self.km = km
        self.path = km.path
        self.builder = GraphBuilder()
        self.values: dict[tuple, KValue] = {}
        self.layer: dict = {}

    # helpers for the rules -----------------------------------------------------------------
    def origin(self, layer: dict | None = None) -> Origin:
        layer = layer or self.layer
        return Origin(layer["config"].get("name", "?"), layer.get("class_name", "?"),
                      self.path.name)

    def error(self, why: str) -> ImportModelError:
        return ImportModelError(why, self.origin())

    def add(self, spec: str, params: dict, inputs: list[Wire], weights=None,
            suffix: str = "") -> Wire:
        name = self.layer["config"].get("name", "layer") + suffix
        return self.builder.add(spec, params, inputs, self.origin(), weights=weights, name=name)

    def shape(self, wire: Wire) -> tuple[int, ...]:
        return tuple(self.builder.type_of(wire).shape)

    def keras_layout(self, v: KValue) -> Wire:
        """The tensor in Keras' layout (channels last): a Permute if it was moved."""
        if not v.moved:
            return v.wire
        rank = len(self.shape(v.wire))
        return self.add("core.Permute", {"dims": [*range(2, rank + 1), 1]}, [v.wire],
                        suffix="_channels_last")

    def channels_first(self, v: KValue) -> Wire:
        """The tensor with its channels as axis 1 (PyTorch's layout): a Permute if needed."""
        rank = len(self.shape(v.wire))
        if v.moved or rank < 2:
            return v.wire
        return self.add("core.Permute", {"dims": [rank, *range(1, rank)]}, [v.wire],
                        suffix="_channels_first")

    # the run --------------------------------------------------------------------------------
    def run(self):
        from .keras_rules import RULES

        cfg = self.km.config
        cls = cfg.get("class_name")
        layers = cfg.get("config", {}).get("layers", [])
        if cls == "Sequential":
            self._sequential(cfg["config"], layers, RULES)
        elif cls in ("Functional", "Model"):
            self._functional(cfg["config"], layers, RULES)
        else:
            raise ModelFileError(f"{self.path}: a {cls!r} model; Studio imports Sequential and "
                                 "functional Keras models")
        return self.builder.finish()

    def _sequential(self, config: dict, layers: list, rules) -> None:
        first = layers[0] if layers else {}
        shape = _batch_shape(first) or _batch_shape(config) or \
            (config.get("build_input_shape") if isinstance(config.get("build_input_shape"),
                                                           list) else None)
        if not shape:
            raise ModelFileError(f"{self.path}: the Sequential model declares no input shape "
                                 "(build it with an Input before saving)")
        body = layers[1:] if first.get("class_name") == "InputLayer" else layers
        in_name = first["config"].get("name", "input") \
            if first.get("class_name") == "InputLayer" else "input"
        value = self._input(in_name, shape, first, body[:1])
        for layer in body:
            value = self._apply(layer, [value], rules)
        self.builder.output(self.keras_layout_of(value, layers[-1]), "output")

    def _functional(self, config: dict, layers: list, rules) -> None:
        by_name = {x["config"].get("name"): x for x in layers}
        for layer in layers:
            name = layer["config"].get("name")
            if layer.get("class_name") == "InputLayer":
                users = [x for x in layers if name in _inbound_names(x)]
                shape = _batch_shape(layer)
                if not shape:
                    raise ModelFileError(f"{self.path}: input {name!r} declares no shape")
                self.values[(name, 0, 0)] = self._input(name, shape, layer, users)
                continue
            nodes = _inbound(layer)
            if len(nodes) != 1:
                self.layer = layer
                raise self.error("the layer is used more than once (shared weights); a "
                                 "Studio node is applied once" if nodes else
                                 "the layer is not connected")
            ins = []
            for ref in nodes[0]:
                if tuple(ref) not in self.values:
                    self.layer = layer
                    src = by_name.get(ref[0], {}).get("class_name", "?")
                    raise self.error(f"its input {ref[0]!r} ({src}) is not available")
                ins.append(self.values[tuple(ref)])
            self.values[(name, 0, 0)] = self._apply(layer, ins, rules)
        outs = config.get("output_layers", [])
        outs = [outs] if outs and isinstance(outs[0], str) else outs
        for ref in outs:
            v = self.values.get((ref[0], ref[1], ref[2]))
            if v is None:
                raise ModelFileError(f"{self.path}: output {ref[0]!r} is not computed by the "
                                     "model")
            self.builder.output(self.keras_layout_of(v, by_name.get(ref[0])),
                                f"{ref[0]}_output" if len(outs) > 1 else "output")

    def keras_layout_of(self, v: KValue, layer) -> Wire:
        self.layer = layer or {"config": {"name": "output"}, "class_name": "Output"}
        return self.keras_layout(v)

    def _input(self, name: str, shape, layer: dict, users: list) -> KValue:
        dims = shape[1:]
        if any(d is None for d in dims):
            raise ModelFileError(f"{self.path}: input {name!r} has an unknown size "
                                 f"{list(shape)}; Studio needs fixed sizes besides the batch")
        dtype = str((layer.get("config") or {}).get("dtype", "float32"))
        ids = "int" in dtype or any(u.get("class_name") == "Embedding" for u in users)
        return KValue(self.builder.input(name, tuple(int(d) for d in dims),
                                         "long" if ids else "float"))

    def _apply(self, layer: dict, ins: list[KValue], rules) -> KValue:
        self.layer = layer
        cls = layer.get("class_name")
        rule = rules.get(cls)
        if rule is None:
            raise self.error("no Studio layer for this Keras layer")
        cfg = layer.get("config") or {}
        if cfg.get("dtype") not in (None, "float32") and isinstance(cfg.get("dtype"), str) \
                and cls not in ("InputLayer", "Embedding"):
            raise self.error(f"dtype {cfg['dtype']!r}: Studio computes in float32")
        return rule(self, cfg, ins, self.km.weights(layer))


def _batch_shape(layer: dict):
    cfg = layer.get("config") if isinstance(layer.get("config"), dict) else layer
    for key in ("batch_shape", "batch_input_shape"):
        if isinstance(cfg.get(key), list):
            return cfg[key]
    build = layer.get("build_config", {}) if isinstance(layer, dict) else {}
    shape = build.get("input_shape") if isinstance(build, dict) else None
    return shape if isinstance(shape, list) and shape and not isinstance(shape[0], list) \
        else None


def _inbound(layer: dict) -> list[list[tuple]]:
    """Each call of the layer as a list of (layer, node, tensor) refs (Keras 2 and 3)."""
    calls = []
    for node in layer.get("inbound_nodes") or []:
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            refs = []
            _tensors(node.get("args", []), refs)
            calls.append(refs)
        elif isinstance(node, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
            calls.append([(r[0], r[1], r[2]) for r in node if isinstance(r, list)])
    return calls


def _tensors(value, refs: list) -> None:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            h = value["config"]["keras_history"]
            refs.append((h[0], h[1], h[2]))
        return
    if isinstance(value, list):
        for v in value:
            _tensors(v, refs)


def _inbound_names(layer: dict) -> set[str]:
    return {ref[0] for call in _inbound(layer) for ref in call}


def import_keras(path):
    """Import a Keras model file (.keras of Keras 3, or legacy .h5 with model_config) as a
    Studio graph with its weights in `graph.weights`. Nothing in the file is executed: a
    Lambda layer or a custom object is refused by name. Raises ImportModelError (naming the
    layer and its class) or ModelFileError (naming the file)."""
    path = Path(path)
    with malformed_is_an_error(path, "Keras model"):
        km = load_keras(path)
    try:
        with malformed_is_an_error(path, "Keras model"):
            return KerasImporter(km).run()
    finally:
        if km._h5 is not None:
            km._h5.close()
