"""One generic test over the whole layer registry (as Keras' run_layer_test).

For every spec and a table of representative params and inputs: params -> JSON -> params is
the identity; a graph Input(s) -> layer -> Output(s) validates and compiles; the inferred output
shapes equal the real forward shapes; the parameter count equals the torch module's; the
explanation shows the count; and gradients reach every parameter.
"""
from __future__ import annotations

import json

import pytest
import torch

from engine import Graph, compile_graph, validate
from engine.layers import REGISTRY, LayerSpec, ParamError, RegistryError, get_spec, register

F, L = "float", "long"

# (layer id, params, [(input shape, dtype), ...])
CASES: list[tuple[str, dict, list[tuple[tuple, str]]]] = [
    ("io.Input", {"shape": [3, 4]}, []),
    ("io.Output", {"loss_weight": 0.5}, [((3, 4), F)]),
    ("core.Linear", {"out_features": 5}, [((7,), F)]),
    ("core.Linear", {"out_features": 3, "bias": False}, [((4, 7), F)]),
    ("core.Linear", {"out_features": 3, "every_position": True}, [((2, 4, 7), F)]),
    ("core.Flatten", {}, [((2, 3, 4), F)]),
    ("core.Reshape", {"shape": [4, -1]}, [((2, 3, 4), F)]),
    ("core.Permute", {"dims": [2, 1]}, [((3, 5), F)]),
    ("core.Identity", {}, [((5,), F)]),
    ("core.Dropout", {"p": 0.3}, [((5,), F)]),
    ("core.Embedding", {"num_embeddings": 20, "embedding_dim": 6}, [((7,), L)]),
    ("core.Embedding", {"num_embeddings": 20, "embedding_dim": 6, "padding_idx": 0},
     [((7,), L)]),
    ("conv.Conv1d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}, [((2, 10), F)]),
    ("conv.Conv1d", {"out_channels": 6, "kernel_size": 3, "stride": 2, "dilation": 2,
                     "groups": 2}, [((4, 17), F)]),
    ("conv.Conv2d", {"out_channels": 6, "kernel_size": [3, 5], "stride": [2, 1],
                     "padding": [1, 2], "groups": 3, "bias": False}, [((3, 9, 11), F)]),
    ("conv.Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "valid"}, [((1, 6, 6), F)]),
    ("conv.Conv3d", {"out_channels": 2, "kernel_size": 2}, [((1, 4, 5, 6), F)]),
    ("conv.ConvTranspose2d", {"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1,
                              "output_padding": 1}, [((2, 4, 5), F)]),
    ("pool.MaxPool1d", {"kernel_size": 2}, [((3, 9), F)]),
    ("pool.MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, [((2, 7, 8), F)]),
    ("pool.AvgPool1d", {"kernel_size": 3, "stride": 1, "padding": 1}, [((2, 6), F)]),
    ("pool.AvgPool2d", {"kernel_size": [2, 3]}, [((2, 6, 7), F)]),
    ("pool.AdaptiveAvgPool1d", {"output_size": 3}, [((2, 10), F)]),
    ("pool.AdaptiveAvgPool2d", {"output_size": [2, 3]}, [((2, 7, 8), F)]),
    ("pool.GlobalAvgPool", {}, [((3, 4, 5), F)]),
    ("pool.GlobalMaxPool", {}, [((3, 4), F)]),
    ("pool.GlobalMaxPool", {}, [((2, 3, 4, 5), F)]),
    ("pool.Upsample", {"scale_factor": 2.0}, [((2, 3, 4), F)]),
    ("pool.Upsample", {"scale_factor": 1.5, "mode": "bilinear"}, [((2, 5, 7), F)]),
    ("pool.Upsample", {"scale_factor": 3.0, "mode": "linear"}, [((2, 5), F)]),
    ("norm.BatchNorm1d", {}, [((6,), F)]),
    ("norm.BatchNorm1d", {"momentum": 0.2, "eps": 1e-3}, [((4, 7), F)]),
    ("norm.BatchNorm2d", {"affine": False}, [((3, 4, 4), F)]),
    ("norm.BatchNorm2d", {}, [((3, 4, 4), F)]),
    ("norm.LayerNorm", {}, [((5, 8), F)]),
    ("norm.LayerNorm", {"normalized_dims": 2, "eps": 1e-6}, [((3, 5, 8), F)]),
    ("norm.GroupNorm", {"num_groups": 2}, [((4, 3, 3), F)]),
    ("act.ReLU", {}, [((5,), F)]),
    ("act.LeakyReLU", {"negative_slope": 0.2}, [((5,), F)]),
    ("act.ELU", {}, [((5,), F)]),
    ("act.GELU", {}, [((5,), F)]),
    ("act.SiLU", {}, [((5,), F)]),
    ("act.Sigmoid", {}, [((5,), F)]),
    ("act.Tanh", {}, [((5,), F)]),
    ("act.Softmax", {"dim": 1}, [((3, 4), F)]),
    ("act.LogSoftmax", {}, [((6,), F)]),
    ("act.Softplus", {"beta": 2.0}, [((5,), F)]),
    ("act.SELU", {}, [((5,), F)]),
    ("act.Softsign", {}, [((2, 5), F)]),
    ("core.Pad", {"pads": [1, 2]}, [((3, 5), F)]),
    ("core.Pad", {"pads": [0, 1, 2, 0], "mode": "replicate"}, [((2, 4, 5), F)]),
    ("core.Pad", {"pads": [1, 1, 1, 1], "mode": "reflect"}, [((2, 4, 5), F)]),
    ("core.Pad", {"pads": [2, 1], "value": -3.5}, [((4,), F)]),
    ("act.HardThreshold", {"threshold": 0.5}, [((5,), F)]),
    ("rnn.RNN", {"hidden_size": 5, "nonlinearity": "relu"}, [((6, 3), F)]),
    ("rnn.LSTM", {"hidden_size": 5}, [((6, 3), F)]),
    ("rnn.LSTM", {"hidden_size": 4, "num_layers": 2, "bidirectional": True, "dropout": 0.1,
                  "output": "last"}, [((6, 3), F)]),
    ("rnn.LSTM", {"hidden_size": 4, "num_layers": 2, "bidirectional": True,
                  "output": "hidden"}, [((6, 3), F)]),
    ("rnn.GRU", {"hidden_size": 4, "bidirectional": True, "output": "hidden"}, [((6, 3), F)]),
    ("rnn.GRU", {"hidden_size": 4, "bias": False, "output": "last"}, [((6, 3), F)]),
    ("attn.MultiheadSelfAttention", {"num_heads": 2}, [((5, 8), F)]),
    ("attn.MultiheadSelfAttention", {"num_heads": 3, "bias": False, "dropout": 0.0},
     [((4, 6), F)]),
    ("attn.TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16}, [((5, 8), F)]),
    ("attn.TransformerEncoderLayer", {"nhead": 4, "activation": "gelu", "norm_first": True},
     [((3, 8), F)]),
    ("attn.PositionalEncoding", {}, [((5, 8), F)]),
    ("attn.PositionalEncoding", {"mode": "learned", "max_len": 10, "dropout": 0.1},
     [((5, 7), F)]),
    ("attn.PositionalEncoding", {"max_len": 6}, [((6, 7), F)]),
    ("merge.Add", {}, [((3, 4), F), ((3, 4), F)]),
    ("merge.Multiply", {"inputs": 3}, [((5,), F)] * 3),
    ("merge.Average", {}, [((2, 3, 3), F)] * 2),
    ("merge.Maximum", {"inputs": 3}, [((4,), F)] * 3),
    ("merge.Concatenate", {}, [((2, 3), F), ((5, 3), F)]),
    ("merge.Concatenate", {"axis": -1, "inputs": 3}, [((2, 3), F), ((2, 1), F), ((2, 4), F)]),
    ("merge.Add", {"inputs": 3}, [((3, 1, 1), F), ((3, 4, 5), F), ((1, 4, 1), F)]),
    ("merge.Multiply", {}, [((4, 1, 1), F), ((4, 3, 3), F)]),
    ("merge.Subtract", {}, [((2, 3), F), ((2, 1), F)]),
    ("merge.Divide", {}, [((5,), F), ((5,), F)]),
    ("merge.Average", {}, [((1, 3), F), ((4, 3), F)]),
    ("merge.Maximum", {}, [((2, 1), F), ((2, 6), F)]),
    ("core.Slice", {"index": "1:3"}, [((4, 5), F)]),
    ("core.Slice", {"index": ":, -1"}, [((3, 4, 5), F)]),
    ("core.Slice", {"index": "..., ::2, None"}, [((3, 7), F)]),
    ("core.Slice", {"index": "0"}, [((6, 2), L)]),
    ("core.Expand", {"shape": [-1, 4, 5]}, [((3, 1, 1), F)]),
    ("core.Repeat", {"repeats": [2, 1]}, [((3, 4), F)]),
    ("core.Parameter", {"shape": [1, 8]}, [((5, 8), F)]),
    ("core.Parameter", {"shape": [3, 1, 1], "init": "constant", "value": 1e-6},
     [((3, 4, 4), F)]),
    ("core.Parameter", {"shape": [4], "learnable": False}, [((4,), L)]),
    ("core.DropPath", {"p": 0.2}, [((3, 4), F)]),
    ("core.DropPath", {"p": 0.5, "mode": "batch"}, [((6,), F)]),
    ("core.DropConnect", {"out_features": 4, "p": 0.3}, [((7,), F)]),
    ("core.DropConnect", {"out_features": 2, "bias": False}, [((5,), F)]),
    ("core.Noise", {"amount": 0.2}, [((3, 4), F)]),
    ("core.Noise", {"kind": "masking", "amount": 0.25}, [((6,), F)]),
    ("gen.Sampling", {"beta": 0.5}, [((3,), F), ((3,), F)]),
    ("gen.Generated", {"loss": "hinge", "d_steps": 2}, [((1, 8, 8), F)]),
    ("core.Linear", {"out_features": 4, "weight_norm": "weight_norm"}, [((7,), F)]),
    ("core.Linear", {"out_features": 4, "weight_norm": "spectral_norm"}, [((7,), F)]),
    ("conv.Conv2d", {"out_channels": 4, "kernel_size": 3, "weight_norm": "weight_norm"},
     [((2, 6, 6), F)]),
    ("conv.Conv1d", {"out_channels": 4, "kernel_size": 3, "weight_norm": "spectral_norm"},
     [((2, 6), F)]),
    ("conv.ConvTranspose2d", {"out_channels": 6, "kernel_size": 3, "groups": 2,
                              "weight_norm": "weight_norm"}, [((4, 5, 5), F)]),
    ("act.ReLU6", {}, [((5,), F)]),
    ("act.Hardswish", {}, [((5,), F)]),
    ("act.Hardsigmoid", {}, [((5,), F)]),
    ("act.Mish", {}, [((5,), F)]),
    ("pool.MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [((2, 8, 8), F)]),
    ("pool.MaxPool1d", {"kernel_size": 2, "ceil_mode": True}, [((3, 9), F)]),
    ("pool.AvgPool2d", {"kernel_size": 2, "ceil_mode": True, "padding": 1}, [((2, 5, 6), F)]),
    ("pool.AvgPool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                        "count_include_pad": False}, [((2, 6, 7), F)]),
    ("pool.AvgPool1d", {"kernel_size": 2, "padding": 1, "count_include_pad": False},
     [((2, 5), F)]),
    ("pool.AdaptiveMaxPool1d", {"output_size": 2}, [((2, 7), F)]),
    ("pool.AdaptiveMaxPool2d", {"output_size": [2, 3]}, [((2, 7, 8), F)]),
    ("math.ScalarOp", {"op": "*", "value": 0.5}, [((3, 4), F)]),
    ("math.ScalarOp", {"op": "-", "value": 1.0, "reverse": True}, [((3,), F)]),
    ("math.ScalarOp", {"op": "**", "value": 2.0}, [((3,), F)]),
    ("math.Unary", {"fn": "rsqrt"}, [((3,), F)]),
    ("math.Unary", {"fn": "neg"}, [((2, 3), F)]),
    ("math.Reduce", {"dims": [2, 3], "keepdim": True}, [((3, 4, 5), F)]),
    ("math.Reduce", {"op": "amax", "dims": 1}, [((3, 4), F)]),
    ("math.Reduce", {"op": "var", "dims": [-1]}, [((3, 4), F)]),
    ("math.MatMul", {}, [((2, 3, 4), F), ((2, 4, 5), F)]),
    ("math.MatMul", {}, [((3, 4), F), ((4, 2), F)]),
    ("attn.ScaledDotProductAttention", {}, [((2, 5, 4), F), ((2, 6, 4), F), ((2, 6, 3), F)]),
    ("attn.ScaledDotProductAttention", {"is_causal": True, "dropout": 0.1, "scale": 0.3},
     [((5, 4), F)] * 3),
    ("sparse.TopK", {"k": 3}, [((10,), F)]),
    ("sparse.TopK", {"k": 5}, [((2, 4, 4), F)]),
    ("rbm.RBM", {"hidden": 6, "k": 2}, [((12,), F)]),
]


def case_id(case) -> str:
    layer_id, params, _ = case
    return layer_id + ("" if not params else "-" + "-".join(f"{k}={v}" for k, v in params.items()))


def build(layer_id: str, params: dict, in_shapes: list[tuple[tuple, str]]):
    """Inputs -> layer -> one Output per output port; returns (graph, layer node)."""
    g = Graph()
    if layer_id == "io.Input":
        node = g.add_node("io.Input", params, name="x")
        g.connect(node.id, "out", g.add_node("io.Output", name="y").id, "in")
        return g, node
    if layer_id == "io.Output":
        (shape, dtype), = in_shapes
        x = g.add_node("io.Input", {"shape": list(shape), "dtype": dtype}, name="x")
        node = g.add_node("io.Output", params, name="y")
        g.connect(x.id, "out", node.id, "in")
        return g, node
    node = g.add_node(layer_id, params, name="layer")
    for i, (port, (shape, dtype)) in enumerate(zip(node.input_ports(), in_shapes)):
        src = g.add_node("io.Input", {"shape": list(shape), "dtype": dtype}, name=f"x{i}")
        g.connect(src.id, "out", node.id, port)
    for i, port in enumerate(node.output_ports()):
        g.connect(node.id, port, g.add_node("io.Output", name=f"y{i}").id, "in")
    return g, node


def random_inputs(graph: Graph, report) -> list[torch.Tensor]:
    torch.manual_seed(0)
    xs = []
    for n in graph.inputs():
        shape = (3, *n.params["shape"])
        if n.params["dtype"] == "long":
            xs.append(torch.randint(0, 20, shape))
        else:
            xs.append(torch.randn(shape, requires_grad=True))
    return xs


def test_every_registered_layer_has_a_case():
    covered = {c[0] for c in CASES}
    assert sorted(set(REGISTRY) - covered) == []


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_layer_spec_against_torch(case):
    layer_id, raw, in_shapes = case
    spec = get_spec(layer_id)

    params = spec.coerce_params(raw)
    assert spec.coerce_params(json.loads(json.dumps(params))) == params
    assert all(q.help for q in spec.params), "every Param needs help text"

    graph, node = build(layer_id, params, in_shapes)
    report = validate(graph)
    assert report.ok, report.text()
    model = compile_graph(graph)
    xs = random_inputs(graph, report)
    outs = model(*xs)
    outs = outs if isinstance(outs, tuple) else (outs,)

    expected = [report.in_types[o.id][0] for o in graph.outputs()]
    for out, t in zip(outs, expected, strict=True):
        assert tuple(out.shape) == (3, *t.shape)
        assert (out.dtype == torch.long) == (t.dtype == "long")

    torch_count = sum(p.numel() for p in model.parameters())
    assert report.param_counts[node.id] == torch_count
    if spec.role == "layer":
        ins, outs_t = report.in_types[node.id], report.out_types[node.id]
        text = spec.explain(node.params, ins, outs_t).text()
        assert f"= {torch_count}" in text or (torch_count == 0 and "0" in text), text
        assert spec.flops(node.params, ins, outs_t) >= 0

    loss = sum((o.float() * torch.randn_like(o.float())).sum() for o in outs)
    if loss.requires_grad:
        loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"no gradient reached {name}"
        assert torch.isfinite(p.grad).all(), name
    if torch_count:
        assert any(p.grad.abs().sum() > 0 for p in model.parameters())


def test_generated_code_is_standalone_and_reads_like_hand_written():
    graph, _ = build("conv.Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1},
                        [((1, 8, 8), F)])
    source = compile_graph(graph).studio_code.source
    assert "nn.Conv2d(1, 16, kernel_size=3, padding=1)" in source
    namespace: dict = {}
    exec(compile(source, "model.py", "exec"), namespace)
    assert namespace["Model"]()(torch.zeros(2, 1, 8, 8)).shape == (2, 16, 8, 8)


def test_duplicate_layer_id_is_refused():
    before = dict(REGISTRY)

    class Duplicate(LayerSpec):
        id = "core.Linear"
        name = "Linear again"

    with pytest.raises(RegistryError, match="already registered"):
        register(Duplicate)
    assert REGISTRY == before


@pytest.mark.parametrize("layer_id, params, fragment", [
    ("conv.Conv2d", {"kernel_size": "big"}, "Received: kernel_size='big'"),
    ("conv.Conv2d", {"kernel_size": [3, 3, 3]}, "Received: kernel_size=[3, 3, 3]"),
    ("pool.MaxPool2d", {"kernel_size": 0}, "Received: kernel_size=0"),
    ("rnn.LSTM", {"hidden_size": 2.5}, "Received: hidden_size=2.5"),
    ("rnn.GRU", {"output": "everything"}, "Received: output='everything'"),
    ("attn.MultiheadSelfAttention", {"dropout": 1.5}, "Received: dropout=1.5"),
    ("pool.Upsample", {"mode": "bicubic"}, "Received: mode='bicubic'"),
    ("pool.AvgPool2d", {"kernel_size": 2, "padding": 2}, "Received: padding=2"),
    ("sparse.TopK", {"k": 0}, "Received: k=0"),
    ("rbm.RBM", {"hidden": True}, "Received: hidden=True"),
    ("norm.LayerNorm", {"normalized_shape": 3}, "no parameter 'normalized_shape'"),
])
def test_bad_params_raise_param_error_naming_the_param(layer_id, params, fragment):
    with pytest.raises(ParamError) as info:
        get_spec(layer_id).coerce_params(params)
    assert fragment in str(info.value)


@pytest.mark.parametrize("layer_id, params, shape, fragment", [
    ("attn.MultiheadSelfAttention", {"num_heads": 3}, (5, 8), "num_heads=3 must divide"),
    ("rnn.LSTM", {}, (8,), "expected a sequence (N, L, F), received N×8"),
    ("norm.GroupNorm", {"num_groups": 3}, (4, 2, 2), "num_groups=3 must divide the 4 channels"),
    ("sparse.TopK", {"k": 20}, (10,), "k=20 is larger than the 10 activations"),
    ("pool.MaxPool2d", {"kernel_size": 5}, (1, 3, 3), "larger than the (padded) input"),
    ("attn.PositionalEncoding", {"max_len": 4}, (5, 8), "max_len=4"),
    ("rbm.RBM", {}, (1, 8, 8), "add a Flatten"),
])
def test_shape_errors_are_reported_at_the_layer(layer_id, params, shape, fragment):
    graph, node = build(layer_id, params, [(shape, F)])
    issues = validate(graph).issues_for(node.id)
    assert [i.kind for i in issues] == ["shape"]
    assert fragment in issues[0].message
    assert issues[0].message.startswith(f"{get_spec(layer_id).name} 'layer': ")
