"""explain_at on a compiled Studio graph: the numbers equal torch.nn.functional on the layer's
input captured by PyTorch hooks (grouped strided conv + Sigmoid, average pooling with
padding, a Softmax layer), and a layer it cannot write out is refused in one sentence."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.graph import Graph
from engine.insight import build_model
from engine.teach.explain_at import ExplainError, explain_at


def _chain(*layers):
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [4, 9, 9]}, name="x")
    ids = {}
    for layer_type, params, name in layers:
        node = g.add_node(layer_type, params, name=name)
        g.connect(prev.id, "out", node.id, "in")
        ids[name], prev = node.id, node
    out = g.add_node("io.Output", {}, name="y")
    g.connect(prev.id, "out", out.id, "in")
    return g, ids


def test_grouped_conv_avg_pool_and_softmax_equal_torch():
    g, ids = _chain(
        ("conv.Conv2d", {"out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1,
                         "groups": 2}, "conv"),
        ("act.Sigmoid", {}, "sig"),
        ("pool.AvgPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, "avg"),
        ("core.Flatten", {}, "flat"),
        ("core.Linear", {"out_features": 5}, "fc"),
        ("act.Softmax", {}, "soft"))
    torch.manual_seed(3)
    model = build_model(g)
    x = np.random.default_rng(1).normal(size=(4, 9, 9)).astype(np.float32)
    conv = model.get_submodule(model.studio_code.attrs[ids["conv"]])
    xt = torch.as_tensor(x)[None].double()
    want = F.conv2d(xt, conv.weight.double(), conv.bias.double(), stride=2, padding=1,
                    groups=2)[0]
    e = explain_at(model, g, x, ids["conv"], (4, 2, 0))      # group 2: input channels 3-4
    assert e.kind == "conv" and e.in_channels == (2, 4)
    assert e.step.value == pytest.approx(want[4, 2, 0].item(), abs=1e-6)
    assert e.module_value == pytest.approx(e.step.value, abs=1e-5)
    assert e.activation[0] == "sig"
    assert e.activation[1] == pytest.approx(torch.sigmoid(want[4, 2, 0]).item(), abs=1e-6)
    act = torch.sigmoid(want)[None]
    e = explain_at(model, g, x, ids["avg"], (5, 0, 2))
    pooled = F.avg_pool2d(act, 3, 2, 1)[0, 5, 0, 2].item()   # counts the padding: / 9
    assert e.kind == "avgpool" and e.step.count == 9
    assert e.step.value == pytest.approx(pooled, abs=1e-6)
    e = explain_at(model, g, x, ids["soft"], (2,))
    fc = model.get_submodule(model.studio_code.attrs[ids["fc"]])
    logits = fc(F.avg_pool2d(act, 3, 2, 1).flatten(1).float()).double()[0]
    assert e.kind == "softmax"
    np.testing.assert_allclose(e.step.probs, F.softmax(logits, 0).detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(e.layer_input, logits.detach().numpy(), atol=1e-5)
    with pytest.raises(ExplainError, match="fc .core.Linear. is not written out"):
        explain_at(model, g, x, ids["fc"], (1,))
