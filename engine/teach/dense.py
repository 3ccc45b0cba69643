"""A small dense network as units and weights (the "units" view): chains of Linear layers of at
most MAX_UNITS inputs and outputs, joined through unit-wise layers (activations, dropout), their
weight matrices read from a weights dict ({node_id: {'weight': (out, in), 'bias': (out,)}}), and
one weight or bias set to a new value (a new dict: the old one is left as it was, for undo)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .boundary import BoundaryWatcher
from .units import MAX_UNITS

#: layers between two Linears that keep each unit a unit (the chain runs through them)
UNITWISE = ("core.Dropout", "core.Identity", "core.DropConnect", "core.Noise")


@dataclass
class DenseLayer:
    node_id: str
    name: str
    weight: np.ndarray              # (out, in)
    bias: np.ndarray | None         # (out,)
    activation: str | None = None   # the unit-wise layer after it ("Tanh"), if any

    @property
    def units(self) -> int:
        return self.weight.shape[0]


def _plain_linear(node) -> bool:
    return node.type == "core.Linear" and not node.params.get("every_position") and \
        node.params.get("weight_norm", "none") in ("none", None)


def _unitwise(node) -> bool:
    return node.type in UNITWISE or node.spec.category == "Activation" and \
        node.type not in ("act.Softmax", "act.LogSoftmax")


def _next_linear(graph, node_id: str) -> tuple[str | None, str | None]:
    """The Linear fed by `node_id` through a single path of unit-wise layers (and the name of
    the last activation on the way); (None, activation) when there is none."""
    activation = None
    current = node_id
    while True:
        outs = graph.out_edges(current)
        if len(outs) != 1:
            return None, activation
        nxt = graph.nodes[outs[0].dst]
        if _plain_linear(nxt) and len(graph.in_edges(nxt.id)) == 1:
            return nxt.id, activation
        if not _unitwise(nxt):
            return None, activation
        if nxt.spec.category == "Activation":
            activation = nxt.spec.name
        current = nxt.id


def dense_chains(graph) -> list[list[tuple[str, str | None]]]:
    """Chains of plain Linear layers, each [(node_id, activation after it), ...] in the order
    data flows, longest first."""
    linears = [nid for nid, n in graph.nodes.items() if _plain_linear(n)]
    following = {nid: _next_linear(graph, nid) for nid in linears}
    fed = {nxt for nxt, _ in following.values() if nxt}
    chains = []
    for start in (nid for nid in linears if nid not in fed):
        chain, nid, seen = [], start, set()
        while nid and nid not in seen:
            seen.add(nid)
            nxt, act = following[nid]
            chain.append((nid, act))
            nid = nxt
        chains.append(chain)
    return sorted(chains, key=len, reverse=True)


def drawable(graph, in_types: dict, out_types: dict) -> bool:
    """True if the units view has something to draw: a plain Linear (each is in one of
    dense_chains) of at most MAX_UNITS inputs and outputs, by the widths a validation
    report's types give (a Linear whose input is not known yet counts by its outputs).
    One pass over the nodes: it runs after every edit."""
    def width(types: dict, nid: str) -> int | None:
        known = types.get(nid)
        return known[0].shape[-1] if known and known[0].shape else None

    return any(_plain_linear(node) and all(
        w is None or w <= MAX_UNITS
        for w in (width(in_types, nid), width(out_types, nid), node.params.get("out_features")))
        for nid, node in graph.nodes.items())


def small_layers(graph, weights: dict, chain: list[tuple[str, str | None]]) -> list[DenseLayer]:
    """The longest run of consecutive layers of `chain` with at most MAX_UNITS inputs and
    outputs each, read from `weights`."""
    runs, run = [], []
    for nid, act in chain:
        tensors = weights.get(nid, {})
        w = tensors.get("weight")
        if w is None or np.ndim(w) != 2 or max(np.shape(w)) > MAX_UNITS:
            runs.append(run)
            run = []
            continue
        b = tensors.get("bias")
        run.append(DenseLayer(nid, graph.nodes[nid].name, np.asarray(w, np.float32),
                              None if b is None else np.asarray(b, np.float32), act))
    runs.append(run)
    return max(runs, key=len)


def chain_weights(weights: dict, node_ids: list[str]) -> dict:
    """Copies of the weights and biases of `node_ids` (the live frames of the units view)."""
    out = {}
    for nid in node_ids:
        tensors = weights.get(nid, {})
        out[nid] = {k: np.array(_numpy(v), np.float32) for k, v in tensors.items()
                    if k in ("weight", "bias")}
    return out


def _numpy(value):
    return value.detach().cpu().numpy() if hasattr(value, "detach") else value


def with_weight(weights: dict, node_id: str, key: str, index: tuple[int, ...],
                value: float) -> dict:
    """A new weights dict equal to `weights` but for `weights[node_id][key][index] = value`
    (only that array is copied). Raises ValueError naming what is wrong."""
    if key not in ("weight", "bias"):
        raise ValueError(f"only a weight or a bias can be edited, not {key!r}")
    tensors = weights.get(node_id)
    if tensors is None or key not in tensors:
        raise ValueError(f"the layer {node_id!r} has no {key}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"a {key} must be a finite number, not {value}")
    array = np.array(_numpy(tensors[key]), copy=True)
    index = tuple(int(i) for i in index)
    if len(index) != array.ndim or any(not 0 <= i < s for i, s in zip(index, array.shape)):
        raise ValueError(f"{key} index {list(index)} is outside its shape {list(array.shape)}")
    array[index] = value
    out = dict(weights)
    out[node_id] = {**tensors, key: array}
    return out


class WeightWatcher(BoundaryWatcher):
    """A trainer callback sending `sink((step, {node_id: {'weight', 'bias'}}))`, copies of the
    watched layers' tensors while a run trains, at a capped rate (always at a pause and at
    the end)."""

    def __init__(self, model_of: Callable[[], object], node_ids: list[str],
                 sink: Callable[[tuple], None], interval_s: float = 0.2):
        super().__init__(model_of, None, "", sink, interval_s, budget=0.05)
        self.node_ids = list(node_ids)

    def compute(self, model, step: int | None) -> tuple:
        from ..compile import node_state

        return step, chain_weights(node_state(model), self.node_ids)
