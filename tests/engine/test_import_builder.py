"""The graph builder all importer front ends share: nodes with weights, names, shape checks,
errors naming the source node, layout."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import engine
from engine.importers import GraphBuilder, ImportModelError, Origin


def test_builder_makes_a_valid_laid_out_graph_with_weights():
    b = GraphBuilder()
    x = b.input("image", (3, 8, 8))
    w, bias = np.ones((4, 3, 3, 3), np.float32), torch.arange(4.0)
    y = b.add("conv.Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, [x],
              Origin("features.0", "nn.Conv2d", "net.py:7", "features"),
              weights={"weight": w, "bias": bias}, shape=(4, 8, 8))
    y = b.add("act.ReLU", {}, [y], Origin("relu", "F.relu"))
    b.output(y, "logits")
    graph = b.finish()
    conv = graph.nodes[b.graph.by_name("features_0").id]
    assert conv.type == "conv.Conv2d"
    assert [n.name for n in graph.outputs()] == ["logits"]
    w[0, 0, 0, 0] = 5.0  # the builder copied the weights
    model = engine.compile_graph(graph)
    assert float(model.state_dict()["features_0.weight"][0, 0, 0, 0]) == 1.0
    assert torch.equal(model.state_dict()["features_0.bias"], torch.arange(4.0))
    xs = [n.pos[0] for n in (graph.inputs()[0], conv, graph.outputs()[0])]
    assert xs == sorted(xs) and len(set(xs)) == 3
    assert b.origins[conv.id].scope == "features"


def test_builder_errors_name_the_source_node():
    b = GraphBuilder()
    x = b.input("x", (5,))
    with pytest.raises(ImportModelError) as err:
        b.add("core.Linear", {"out_features": -1}, [x], Origin("fc", "Dense", "m.h5"))
    assert str(err.value).startswith("cannot import node 'fc' (Dense, m.h5): out_features")
    with pytest.raises(ImportModelError, match=r"node 'pool' \(Pool\): Studio's Add takes 2"):
        b.add("merge.Add", {}, [x], Origin("pool", "Pool"))
    y = b.add("core.Linear", {"out_features": 3}, [x], Origin("fc", "Gemm"), shape=(4,))
    b.output(y)
    with pytest.raises(ImportModelError, match=r"node 'fc' \(Gemm\): Studio infers the shape "
                       r"\(3,\), the model produces \(4,\)"):
        b.finish()


def test_builder_reports_an_invalid_graph_at_its_origin():
    b = GraphBuilder()
    x = b.input("x", (3, 4, 4))
    y = b.add("core.Linear", {"out_features": 2}, [x], Origin("dense", "Dense", "model.keras"))
    b.output(y)
    with pytest.raises(ImportModelError, match=r"^cannot import node 'dense' \(Dense, "
                       r"model.keras\): the imported graph is not valid: Linear 'dense'"):
        b.finish()
    with pytest.raises(ImportModelError, match="returns no tensor"):
        GraphBuilder().finish()
