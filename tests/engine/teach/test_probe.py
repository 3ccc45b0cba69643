"""Probing a wire: the tensor equals the layer's real output (PyTorch on the same weights),
on wires after layers with and without a module, and the statistics equal numpy's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine.insight import build_model
from engine.project import load_project
from engine.teach.probe import heatmap, probe_wire, wire_stats

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


def _cnn():
    project = load_project(EXAMPLES / "digits_cnn.nnproj")
    torch.manual_seed(0)
    model = build_model(project.graph)
    from engine.insight.compute import node_weights

    project.graph.weights = node_weights(model)       # random but known weights
    return project.graph, model


def _by_name(graph, name):
    return next(n for n in graph.nodes.values() if n.name == name)


def test_every_wire_carries_what_pytorch_computes():
    graph, model = _cnn()
    x = np.random.default_rng(0).normal(size=(5, 1, 8, 8)).astype(np.float32)
    captured = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, name=name: captured.__setitem__(name, o))
             for name, m in model.named_children()]
    model.eval()
    with torch.no_grad():
        final = model(torch.as_tensor(x))
    for h in hooks:
        h.remove()
    for edge in graph.edges:
        src = graph.nodes[edge.src]
        got = probe_wire(graph, edge.src, edge.src_port, x)
        attr = model.studio_code.attrs.get(edge.src)
        if src.type == "io.Input":
            np.testing.assert_array_equal(got, x)
        elif attr is not None:
            np.testing.assert_allclose(got, captured[attr].numpy(), rtol=1e-5, atol=1e-6)
        assert got.shape[0] == 5
    last = [e for e in graph.edges if graph.nodes[e.dst].type == "io.Output"][0]
    np.testing.assert_allclose(probe_wire(graph, last.src, last.src_port, x), final.numpy(),
                               rtol=1e-5, atol=1e-6)
    flatten = _by_name(graph, "flatten")              # may have no module of its own
    relu2 = model.studio_code.attrs[_by_name(graph, "relu2").id]
    np.testing.assert_allclose(probe_wire(graph, flatten.id, "out", x),
                               captured[relu2].numpy().reshape(5, -1), rtol=1e-5, atol=1e-6)


def test_statistics_equal_the_tensors():
    rng = np.random.default_rng(1)
    a = np.maximum(rng.normal(size=(16, 6, 4, 4)), 0).astype(np.float32)
    a[:, 2] = 0                                        # a dead channel
    s = wire_stats(a)
    assert s.shape == (16, 6, 4, 4)
    assert s.minimum == float(a.min()) and s.maximum == float(a.max())
    assert np.isclose(s.mean, a.astype(np.float64).mean()) and np.isclose(s.std, a.std())
    assert s.zeros == float((a == 0).mean()) and s.dead_units == 1 / 6
    assert s.counts.sum() == a.size
    np.testing.assert_array_equal(s.counts, np.histogram(a, bins=40)[0])
    dense = np.array([[0, 1.0], [0, -2.0]])
    assert wire_stats(dense).dead_units == 0.5


def test_heatmaps():
    a = np.arange(2 * 5 * 3 * 3, dtype=np.float32).reshape(2, 5, 3, 3)
    grid = heatmap(a, sample=1)
    assert grid.shape == (2 * 4 - 1, 3 * 4 - 1)        # 5 channels in a 3 × 2 grid
    np.testing.assert_array_equal(grid[:3, :3], a[1, 0])
    np.testing.assert_array_equal(grid[4:7, 4:7], a[1, 4])
    assert np.isnan(grid[3, 0])
    assert heatmap(np.ones((7, 3))).shape == (7, 3)
    assert heatmap(np.ones((2, 4, 6)), 1).shape == (4, 6)


def test_a_probe_built_while_another_view_seeds_torch_gets_its_own_numbers():
    """torch's generator is shared by all threads: a probe compiled while another view builds
    its seeded model must still start from the initialisation of its own seed."""
    import sys
    import threading

    from engine.teach.plane_data import seeded_model
    from engine.teach.probe import tapped_model

    graph = load_project(EXAMPLES / "digits_mlp.nnproj").graph
    graph.weights = {}                                 # a fresh, seeded initialisation
    edge = graph.edges[-1]

    def params(model):
        return [p.detach().clone() for p in model.parameters()]

    expected = params(tapped_model(graph, edge.src, edge.src_port, seed=0)[0])
    stop, mismatches = threading.Event(), []

    def other_view():
        while not stop.is_set():
            seeded_model(graph, None, seed=1)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)                        # interleave the threads often
    thread = threading.Thread(target=other_view)
    thread.start()
    try:
        for _ in range(40):
            got = params(tapped_model(graph, edge.src, edge.src_port, seed=0)[0])
            mismatches += [not all(torch.equal(a, b) for a, b in zip(got, expected))]
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch)
    assert not any(mismatches), f"{sum(mismatches)} of 40 probes drew another view's numbers"
