"""ONNX LSTM, GRU and RNN as Studio recurrent layers, gates reordered to PyTorch's.

ONNX stacks gate blocks as LSTM i, o, f, c and GRU z, r, h; PyTorch as LSTM i, f, g, o and
GRU r, z, n (ONNX's linear_before_reset=1 is PyTorch's GRU). One ONNX node is one layer; its
sequence output Y (L, dirs, N, H) or final state Y_h (dirs, N, H) becomes the Studio node's
'sequence' or 'hidden' output, as a view (no reshaping node): which one depends on what the
model uses; a model using both gets Y_h sliced from the sequence (stacked layers do that).
"""
from __future__ import annotations

import numpy as np

from .layout import B, View
from .onnx_import import Importer

_ORDER = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}
_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                 "RNN": ["Tanh"]}


def _reorder(w: np.ndarray, kind: str, hidden: int) -> np.ndarray:
    blocks = [w[i * hidden:(i + 1) * hidden] for i in range(_GATES[kind])]
    return np.concatenate([blocks[i] for i in _ORDER[kind]], axis=0).astype(np.float32)


def _recurrent(imp: Importer, node, kind: str):
    from .onnx_import import attrs

    at = attrs(node)
    hidden = int(at["hidden_size"])
    direction = at.get("direction", "forward")
    if direction == "reverse":
        raise imp.error(node, "a layer that runs only backwards has no Studio layer")
    dirs = 2 if direction == "bidirectional" else 1
    acts = [a.capitalize() if a.islower() else a for a in at.get("activations", [])]
    nonlinearity = "tanh"
    if kind == "RNN" and acts[:1] == ["Relu"]:
        nonlinearity, acts = "relu", ["Tanh"] * len(acts)
    if acts and acts != _DEFAULT_ACTS[kind] * (len(acts) // len(_DEFAULT_ACTS[kind])):
        raise imp.error(node, f"activations {at['activations']} differ from PyTorch's")
    if at.get("clip") is not None or at.get("input_forget", 0):
        raise imp.error(node, "clip/input_forget have no PyTorch equivalent")
    if kind == "GRU" and not at.get("linear_before_reset", 0):
        raise imp.error(node, "a GRU with linear_before_reset=0 computes differently from "
                        "PyTorch's GRU (export it with linear_before_reset=1)")
    layout = int(at.get("layout", 0))
    for i, what in ((4, "sequence_lens"), (5, "initial_h"), (6, "initial_c"), (7, "peepholes")):
        if i < len(node.input) and node.input[i]:
            c = imp.const(node, i, what, static=False)
            if what == "sequence_lens":
                continue  # checked below against the length
            if any(np.any(a != 0) for a in c.values()):
                raise imp.error(node, f"a non-zero {what} has no Studio equivalent")
    x = imp.view(node)
    seq_first = x.transpose([1, 0, 2]) if layout == 0 else x
    wire = imp.materialize(node, seq_first)
    length = imp.shape_of(wire)[0]
    if len(node.input) > 4 and node.input[4]:
        lens = imp.const(node, 4, "sequence_lens", static=False)
        if any(np.any(a != length) for a in lens.values()):
            raise imp.error(node, "sequences of different lengths (sequence_lens) have no "
                            "Studio equivalent")
    w = np.asarray(imp.const(node, 1, "weights W"))
    r = np.asarray(imp.const(node, 2, "recurrence weights R"))
    has_bias = len(node.input) > 3 and bool(node.input[3])
    b = np.asarray(imp.const(node, 3, "bias B")) if has_bias else None
    g = _GATES[kind]
    weights = {}
    for d in range(dirs):
        sfx = "_l0" + ("_reverse" if d else "")
        weights["weight_ih" + sfx] = _reorder(w[d], kind, hidden)
        weights["weight_hh" + sfx] = _reorder(r[d], kind, hidden)
        if b is not None:
            weights["bias_ih" + sfx] = _reorder(b[d][:g * hidden], kind, hidden)
            weights["bias_hh" + sfx] = _reorder(b[d][g * hidden:], kind, hidden)
    y, y_h = node.output[0] if node.output else "", node.output[1] if len(node.output) > 1 else ""
    y_c = node.output[2] if len(node.output) > 2 else ""
    if imp.used(y_c):
        raise imp.error(node, "Studio's LSTM node does not output the cell state Y_c")
    both = imp.used(y) and imp.used(y_h)
    mode = "hidden" if imp.used(y_h) and not both else "sequence"
    params = {"hidden_size": hidden, "bidirectional": dirs == 2, "bias": b is not None,
              "output": mode}
    if kind == "RNN":
        params["nonlinearity"] = nonlinearity
    out = imp.add(node, f"rnn.{kind}", params, [wire], weights=weights)
    h_groups = ((0,), (B,), (1,)) if layout == 0 else ((B,), (0,), (1,))
    if mode == "hidden":
        return [None, View(out, (dirs * hidden,), (dirs, hidden), h_groups)]
    # Y: (L, dirs, N, H) or, with layout 1, (N, L, dirs, H)
    groups = ((0,), (1,), (B,), (2,)) if layout == 0 else ((B,), (0,), (1,), (2,))
    seq = View(out, (length, dirs * hidden), (length, dirs, hidden), groups)
    if not both:
        return [seq, None]
    final = _final_state(imp, node, out, dirs, hidden)
    return [seq, View(final, (dirs * hidden,), (dirs, hidden), h_groups)]


def _final_state(imp: Importer, node, seq, dirs: int, hidden: int):
    """Y_h from the sequence output (N, L, dirs·H), for a model that uses both: the forward
    direction ends at the last step, the backward one at the first."""
    if dirs == 1:
        return imp.add(node, "core.Slice", {"index": "-1"}, [seq], suffix="_final")
    fwd = imp.add(node, "core.Slice", {"index": f"-1, :{hidden}"}, [seq], suffix="_final_fwd")
    bwd = imp.add(node, "core.Slice", {"index": f"0, {hidden}:"}, [seq], suffix="_final_bwd")
    return imp.add(node, "merge.Concatenate", {"inputs": 2, "axis": 1}, [fwd, bwd],
                   suffix="_final")


def lstm(imp: Importer, node):
    return _recurrent(imp, node, "LSTM")


def gru(imp: Importer, node):
    return _recurrent(imp, node, "GRU")


def rnn(imp: Importer, node):
    return _recurrent(imp, node, "RNN")
