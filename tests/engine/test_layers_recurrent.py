"""Recurrent specs: parameter counts over a grid, and each output mode's forward code."""
from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from engine import compile_graph
from engine.layers import TensorType, get_spec

from .test_registry import build


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_param_count_matches_torch_over_a_grid(kind):
    spec = get_spec(f"rnn.{kind}")
    for hidden, layers, bidir, bias in itertools.product((1, 7), (1, 3), (False, True),
                                                         (False, True)):
        p = spec.coerce_params({"hidden_size": hidden, "num_layers": layers,
                                "bidirectional": bidir, "bias": bias})
        module = getattr(nn, kind)(5, hidden, num_layers=layers, bidirectional=bidir, bias=bias)
        assert spec.param_count(p, [TensorType((4, 5))]) == sum(
            t.numel() for t in module.parameters()), p


def _run(kind: str, params: dict):
    graph, node = build(f"rnn.{kind}", params, [((6, 3), "float")])
    model = compile_graph(graph)
    rnn = getattr(model, model.studio_code.attrs[node.id])
    x = torch.randn(2, 6, 3)
    return model(x), rnn(x)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_output_modes_select_the_right_tensor(kind, bidirectional):
    base = {"hidden_size": 4, "num_layers": 2, "bidirectional": bidirectional}
    torch.manual_seed(0)
    y, (seq, state) = _run(kind, {**base, "output": "sequence"})
    assert torch.equal(y, seq)

    torch.manual_seed(0)
    y, (seq, state) = _run(kind, {**base, "output": "last"})
    assert torch.equal(y, seq[:, -1])

    torch.manual_seed(0)
    y, (seq, state) = _run(kind, {**base, "output": "hidden"})
    h = state[0] if kind == "LSTM" else state
    expected = torch.cat([h[-2], h[-1]], dim=1) if bidirectional else h[-1]
    assert y.shape == (2, 8 if bidirectional else 4)
    assert torch.equal(y, expected)
    if bidirectional:  # the backward direction's final state is its output at step 0
        assert torch.allclose(y[:, 4:], seq[:, 0, 4:])
    else:
        assert torch.allclose(y, seq[:, -1])


def test_explain_shows_the_lstm_formula_numbers():
    spec = get_spec("rnn.LSTM")
    p = spec.coerce_params({"hidden_size": 8, "num_layers": 2})
    ins = [TensorType((10, 3))]
    text = spec.explain(p, ins, spec.infer(p, ins)).text()
    assert "4·H·(F_in + H) + 2·4·H" in text
    assert "4·8·(3 + 8) + 2·4·8" in text
    assert f"params = {4 * (8 * 11 + 16) + 4 * (8 * 16 + 16)}" in text
    assert "c_t = f ⊙ c_(t−1) + i ⊙ g" in spec.formula
