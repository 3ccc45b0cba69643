"""Behaviour of the pooling, normalization, attention and sparsity layers beyond shapes."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from engine import Graph, compile_graph, validate
from engine.layers import get_spec

from .test_registry import build


def compiled(layer_id: str, params: dict, shape: tuple):
    graph, node = build(layer_id, params, [(shape, "float")])
    model = compile_graph(graph)
    return model, getattr(model, model.studio_code.attrs.get(node.id, ""), None)


def test_topk_keeps_the_k_largest_and_passes_their_gradient():
    model, _ = compiled("sparse.TopK", {"k": 3}, (2, 4))
    x = torch.randn(5, 2, 4, requires_grad=True)
    y = model(x)
    flat_x, flat_y = x.detach().flatten(1), y.detach().flatten(1)
    kept = flat_y != 0
    assert kept.sum(1).tolist() == [3] * 5
    top = flat_x.topk(3, dim=1).indices
    assert torch.equal(kept, torch.zeros_like(kept).scatter(1, top, True))
    assert torch.equal(flat_y[kept], flat_x[kept])
    upstream = torch.randn_like(y)
    y.backward(upstream)
    assert torch.equal(x.grad, upstream * kept.view_as(x))


def test_sinusoidal_positional_encoding_values_and_no_saved_state():
    model, pe = compiled("attn.PositionalEncoding", {}, (6, 5))
    x = torch.zeros(1, 6, 5)
    y = model(x)[0]
    for t in range(6):
        for i in range(5):
            angle = t / 10000 ** ((i - i % 2) / 5)
            want = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert y[t, i].item() == pytest.approx(want, abs=1e-5)
    assert model.state_dict() == {}  # fixed table: nothing to save as weights


def test_learned_positional_encoding_is_a_parameter():
    model, pe = compiled("attn.PositionalEncoding", {"mode": "learned", "max_len": 9}, (6, 4))
    assert [n for n, _ in model.named_parameters()] == ["layer.pe"]
    assert pe.pe.shape == (9, 4)


def test_global_pooling_reduces_every_spatial_axis():
    x = torch.randn(2, 3, 4, 5)
    avg, _ = compiled("pool.GlobalAvgPool", {}, (3, 4, 5))
    mx, _ = compiled("pool.GlobalMaxPool", {}, (3, 4, 5))
    assert torch.allclose(avg(x), x.mean(dim=(2, 3)))
    assert torch.equal(mx(x), x.amax(dim=(2, 3)))


def test_batchnorm_buffers_are_saved_but_not_counted():
    graph, node = build("norm.BatchNorm2d", {}, [((3, 4, 4), "float")])
    report = validate(graph)
    model = compile_graph(graph)
    assert report.param_counts[node.id] == 6
    assert sorted(model.state_dict()) == ["layer.bias", "layer.num_batches_tracked",
                                          "layer.running_mean", "layer.running_var",
                                          "layer.weight"]


def test_layernorm_over_last_two_dims_and_groupnorm_match_functional():
    x = torch.randn(2, 3, 4, 5)
    ln, _ = compiled("norm.LayerNorm", {"normalized_dims": 2}, (3, 4, 5))
    assert torch.allclose(ln(x), F.layer_norm(x, (4, 5)), atol=1e-6)
    gn, _ = compiled("norm.GroupNorm", {"num_groups": 3}, (3, 4, 5))
    assert torch.allclose(gn(x), F.group_norm(x, 3), atol=1e-6)


def test_self_attention_is_torch_multihead_attention_with_q_k_v_equal():
    model, mha = compiled("attn.MultiheadSelfAttention", {"num_heads": 2, "dropout": 0.0},
                          (5, 8))
    x = torch.randn(3, 5, 8)
    want, _ = mha(x, x, x)
    assert torch.allclose(model(x), want, atol=1e-6)
    assert mha.batch_first


@pytest.mark.parametrize("layer_id, params, shape, fragment", [
    ("pool.Upsample", {"mode": "bilinear"}, (3, 8), "expects input (N, C, H, W)"),
    ("pool.Upsample", {"mode": "linear"}, (3, 8, 8), "expects input (N, C, L)"),
    ("pool.AdaptiveAvgPool2d", {}, (8,), "expected input (N, C, H, W)"),
    ("norm.BatchNorm2d", {}, (3, 8), "expected input (N, C, H, W)"),
    ("attn.TransformerEncoderLayer", {"nhead": 3}, (4, 8), "must divide"),
])
def test_more_shape_errors(layer_id, params, shape, fragment):
    graph, node = build(layer_id, params, [(shape, "float")])
    (issue,) = validate(graph).issues_for(node.id)
    assert fragment in issue.message


def test_recurrent_and_attention_refuse_token_ids_with_a_hint():
    g = Graph()
    x = g.add_node("io.Input", {"shape": [7], "dtype": "long"}, name="tokens")
    lstm = g.add_node("rnn.LSTM", {}, name="lstm")
    g.connect(x.id, "out", lstm.id, "in")
    g.connect(lstm.id, "out", g.add_node("io.Output", name="y").id, "in")
    (issue,) = validate(g).issues_for(lstm.id)
    assert "add an Embedding first" in issue.message


def test_every_param_has_help_and_every_spec_a_doc():
    from engine.layers import REGISTRY
    for spec in REGISTRY.values():
        assert spec.doc, spec.id
        for q in spec.params:
            assert len(q.help) > 10, (spec.id, q.name)
    assert get_spec("pool.MaxPool2d").category == "Pooling"
