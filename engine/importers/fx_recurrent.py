"""Recurrent layers in a traced model: `out, h = self.gru(x)` and what the model takes of it.

A Studio RNN/LSTM/GRU node outputs one thing (its `output` mode): the sequence, the last
step, or the final hidden state of the last layer (directions joined). The mode is chosen
from how the model uses the layer: the sequence if it uses the sequence (`out[:, -1]` alone
makes it 'last'), else the hidden state. `h[-1]`, `h[-2]`, `h.squeeze(0)` and the
bidirectional `torch.cat([h[-2], h[-1]], 1)` become that output or an exact slice of it (the
final state of a direction is one step of the sequence: forward at the end, backward at the
start).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

from .fx_modules import Unsupported, require
from .fx_values import Tensor, translate_index, trim


@dataclass(frozen=True)
class Recurrent:
    """The (output, state) tuple of a recurrent module, or one part of it (`part`: () the
    tuple, (0,) the sequence when only its last step is used, (1,) the state, (1, 0) an
    LSTM's h, (1, 1) its c)."""

    tensor: Tensor          # the node's output, batch first
    kind: str               # rnn.RNN | rnn.LSTM | rnn.GRU
    hidden: int
    layers: int
    dirs: int
    mode: str
    perm: tuple | None      # the model's sequences: (1, 0, 2) for batch_first=False
    part: tuple = ()

    def at(self, *part) -> Recurrent:
        return Recurrent(self.tensor, self.kind, self.hidden, self.layers, self.dirs,
                         self.mode, self.perm, part)


@dataclass(frozen=True)
class StateItem:
    """h_n[k] for the last layer: direction 0 (forward) or 1 (backward)."""

    rnn: Recurrent
    direction: int


def sequence_input(ctx, node, arg, batch_first: bool):
    """(wire, perm of the outputs) of a sequence layer's input: batch-first as Studio's, or
    the (L, N, F) view of a batch-first tensor for batch_first=False."""
    t = ctx.tval(arg, node)
    if batch_first:
        return ctx.tensor(arg, node), None
    require(t.perm == (1, 0, 2), "batch_first=False needs its input as (L, N, F), here "
            "the batch is axis 0: Studio sequences are (N, L, F)")
    return t.wire, (1, 0, 2)


def _uses(ctx, node, perm) -> tuple[bool, bool, bool]:
    """(uses the sequence, uses the state, the sequence's only use is its last step)."""
    items = {u.args[1]: u for u in node.users if u.op == "call_function"
             and u.target is operator.getitem and ctx.is_live(u)}
    seq, state = items.get(0), items.get(1)
    last = False
    if seq is not None:
        users = [u for u in seq.users if ctx.is_live(u)]
        last = len(users) == 1 and users[0].target is operator.getitem and \
            _is_last_step(ctx, users[0].args[1], perm)
    whole = [u for u in node.users if ctx.is_live(u) and u not in items.values()]
    if whole:
        raise Unsupported("uses a recurrent layer's (output, state) tuple directly; take "
                          "its parts")
    return seq is not None, state is not None, last


def _is_last_step(ctx, index, perm) -> bool:
    index = index if isinstance(index, tuple) else (index,)
    try:
        items = [ctx.const_or_none(i) for i in index]
        studio, _ = translate_index(items, perm, 3)
    except (Unsupported, ValueError, TypeError):
        return False
    return trim(studio) == [-1]


def recurrent(ctx, node, module) -> Recurrent:
    require(getattr(module, "proj_size", 0) == 0, "Studio's LSTM has no proj_size")
    require(ctx.is_zero_state(ctx.arg(node, 1, "hx")), "Studio's recurrent layers start "
            "from a zero state; the model passes another initial state")
    x, perm = sequence_input(ctx, node, node.args[0], module.batch_first)
    seq, state, last = _uses(ctx, node, perm)
    mode = ("last" if last and not state else "sequence") if seq else "hidden"
    kind = "rnn." + ("RNN" if module.mode.startswith("RNN") else module.mode)
    params = {"hidden_size": module.hidden_size, "num_layers": module.num_layers,
              "bidirectional": module.bidirectional, "dropout": float(module.dropout),
              "bias": module.bias, "output": mode}
    if kind == "rnn.RNN":
        params["nonlinearity"] = module.nonlinearity
    out = ctx.add(node, kind, params, [x], weights=module.state_dict(), module=module,
                  shape=False)
    return Recurrent(out, kind, module.hidden_size, module.num_layers,
                     2 if module.bidirectional else 1, mode, perm)


def item(ctx, node, value: Recurrent, index):
    """`value[index]` for a recurrent tuple or a part of it."""
    part = (*value.part, index)
    if part == (0,):
        if value.mode == "last":
            return value.at(0)
        return value.tensor.permuted(value.perm) if value.perm else value.tensor
    if value.part == (0,):
        require(_is_last_step(ctx, index, value.perm), "Studio's 'last' output is the last "
                "step")
        return value.tensor
    if part == (1,) or (value.kind == "rnn.LSTM" and part == (1, 0)):
        return value.at(*part)
    require(part != (1, 1), "Studio's LSTM node does not output the cell state")
    return state_item(node, value, index)


def state_item(node, value: Recurrent, index) -> StateItem:
    """h_n[k] (or h_n[k, :, :]): a direction of the last layer's final state."""
    k = index[0] if isinstance(index, tuple) else index
    rest = index[1:] if isinstance(index, tuple) else ()
    require(isinstance(k, int) and all(r is Ellipsis or r == slice(None) for r in rest),
            "Studio takes the final state one layer and direction at a time (h[-1])")
    n = value.layers * value.dirs
    require(-n <= k < n, f"index {k} is out of range for {n} final states")
    k %= n
    require(k // value.dirs == value.layers - 1, f"uses the final state of layer "
            f"{k // value.dirs + 1} of {value.layers}; Studio's node gives the last layer's")
    return StateItem(value, k % value.dirs)


def squeeze_state(value: Recurrent) -> StateItem:
    """h_n.squeeze(0) of a one-layer, one-direction state."""
    require(value.layers * value.dirs == 1, "squeezes a final state of several layers or "
            "directions; take one with h[-1]")
    return StateItem(value, 0)


def materialize(ctx, node, item: StateItem) -> Tensor:
    """The Studio tensor of h_n[k]: the node's output or a slice of it."""
    rnn, h = item.rnn, item.rnn.hidden
    if rnn.mode == "hidden":
        if rnn.dirs == 1:
            return rnn.tensor
        index = f":{h}" if item.direction == 0 else f"{h}:"
    elif rnn.mode == "sequence":
        index = "-1" if rnn.dirs == 1 else (f"-1, :{h}" if item.direction == 0 else f"0, {h}:")
    else:
        raise Unsupported("uses both the last step and the final state")
    return ctx.slice_of(node, rnn.tensor.wire, index, f"{node.name}_state")


def joined_state(tensors: list) -> Tensor | None:
    """torch.cat([h[-2], h[-1]], 1) of one bidirectional layer in 'hidden' mode: the node's
    output itself."""
    if len(tensors) == 2 and all(isinstance(t, StateItem) for t in tensors):
        fwd, bwd = tensors
        if fwd.rnn == bwd.rnn and (fwd.direction, bwd.direction) == (0, 1) and \
                fwd.rnn.mode == "hidden":
            return fwd.rnn.tensor
    return None
