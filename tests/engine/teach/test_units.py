"""Per-unit pictures over the input plane and the units view's weights: the numbers against
the model itself (PyTorch), the live watcher on a real run, the dense chains a graph holds and
one weight edited."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.graph import Graph
from engine.insight import build_model
from engine.insight.compute import node_weights
from engine.project import load_project
from engine.teach import Plane
from engine.teach.dense import chain_weights, dense_chains, small_layers, with_weight
from engine.teach.units import UnitWatcher, hidden_unit_nodes, project_unit_maps, unit_maps
from engine.train.trainer import Trainer

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


def _xor():
    return load_project(EXAMPLES / "xor_mlp.nnproj")


def _chain(widths, acts=None):
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [2]}, name="x").id
    for k, w in enumerate(widths):
        fc = g.add_node("core.Linear", {"out_features": w}, name=f"fc{k}")
        g.connect(prev, "out", fc.id, "in")
        prev = fc.id
        if acts and acts[k]:
            a = g.add_node(acts[k], {}, name=f"a{k}")
            g.connect(prev, "out", a.id, "in")
            prev = a.id
    out = g.add_node("io.Output", {}, name="y")
    g.connect(prev, "out", out.id, "in")
    return g


def test_unit_maps_equal_each_unit_of_the_model_on_the_grid():
    graph = _xor().graph
    assert hidden_unit_nodes(graph) == ["n2", "n3"]          # not the output layer n4
    torch.manual_seed(3)
    model = build_model(graph)
    plane = Plane(-1.0, 2.0, -0.5, 1.5, size=12)
    maps = unit_maps(model, plane, ["n2", "n3"], step=7)
    assert maps.step == 7 and set(maps.maps) == {"n2", "n3"}
    assert maps.maps["n2"].shape == (8, 12, 12)
    with torch.no_grad():
        pre = model.hidden(torch.as_tensor(plane.points()))
    for u in range(8):
        want = pre[:, u].numpy().reshape(12, 12)
        np.testing.assert_allclose(maps.maps["n2"][u], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(maps.maps["n3"][u], np.tanh(want), rtol=1e-5, atol=1e-6)
    # row i is y index i: the cell of a point holds the unit's value at that point
    row, col = plane.cell_of(np.array([[1.7, -0.3]]))
    xs, ys = plane.axes()
    with torch.no_grad():
        at = model.hidden(torch.tensor([[xs[col[0]], ys[row[0]]]], dtype=torch.float32))
    np.testing.assert_allclose(maps.maps["n2"][:, row[0], col[0]], at[0].numpy(), rtol=1e-5)
    assert maps.scale("n3") == pytest.approx(float(np.abs(np.tanh(pre.numpy())).max()))


def test_wide_layers_are_left_out_and_the_seeded_model_is_what_training_starts_from():
    graph = _chain([40, 6], ["act.ReLU", None])
    maps = project_unit_maps(graph, None, Plane(0, 1, 0, 1, 6), seed=5)
    assert set(maps.maps) == set()          # 40 units: too many to draw one by one
    graph = _chain([6, 3], ["act.ReLU", None])
    a = project_unit_maps(graph, None, Plane(0, 1, 0, 1, 6), seed=5)
    b = project_unit_maps(graph, None, Plane(0, 1, 0, 1, 6), seed=5)
    assert set(a.maps) == {"n2", "n3"} and a.maps["n3"].min() >= 0      # after the ReLU
    np.testing.assert_array_equal(a.maps["n2"], b.maps["n2"])
    torch.manual_seed(5)
    weights = node_weights(build_model(graph))
    c = project_unit_maps(graph, weights, Plane(0, 1, 0, 1, 6))
    np.testing.assert_allclose(c.maps["n2"], a.maps["n2"], rtol=1e-6)


def test_unit_watcher_follows_a_real_run():
    project = _xor()
    frames = []
    trainer = Trainer(project, "cpu", run_dir=False, epochs=3, event_interval=0.0)
    watcher = UnitWatcher(lambda: trainer.model, Plane(-0.5, 1.5, -0.5, 1.5, 8),
                          ["n2", "n3"], frames.append, interval_s=0.0)
    trainer.add_callback(watcher)
    assert trainer.fit().status == "completed"
    assert len(frames) >= 3 and frames[0].step == 1
    assert not np.array_equal(frames[0].maps["n3"], frames[-1].maps["n3"])
    want = unit_maps(trainer.model, frames[-1].plane, ["n3"]).maps["n3"]
    np.testing.assert_allclose(frames[-1].maps["n3"], want, rtol=1e-5, atol=1e-6)


def test_dense_chains_run_through_activations_and_stop_at_branches():
    graph = _xor().graph
    assert dense_chains(graph) == [[("n2", "Tanh"), ("n4", None)]]
    g = _chain([4, 4, 1], ["act.ReLU", "act.Sigmoid", None])
    assert [nid for nid, _ in dense_chains(g)[0]] == ["n2", "n4", "n6"]
    # a branch (two consumers) ends a chain
    extra = g.add_node("io.Output", {}, name="aux")
    g.connect("n3", "out", extra.id, "in")
    chains = dense_chains(g)
    assert [[nid for nid, _ in c] for c in chains] == [["n4", "n6"], ["n2"]]


def test_small_layers_keep_the_longest_run_of_small_linears():
    graph = _chain([40, 6, 4, 3], ["act.ReLU", None, "act.Tanh", None])
    torch.manual_seed(0)
    weights = node_weights(build_model(graph))
    layers = small_layers(graph, weights, dense_chains(graph)[0])
    assert [layer.name for layer in layers] == ["fc2", "fc3"]    # fc0, fc1 touch 40 units
    model = build_model(graph, weights)
    np.testing.assert_array_equal(layers[1].weight, model.fc3.weight.detach().numpy())
    np.testing.assert_array_equal(layers[1].bias, model.fc3.bias.detach().numpy())
    assert layers[0].weight.shape == (4, 6) and layers[0].activation == "Tanh"
    assert layers[1].units == 3 and layers[1].activation is None


def test_with_weight_changes_one_number_in_the_model_and_leaves_the_old_dict():
    graph = _xor().graph
    torch.manual_seed(0)
    weights = node_weights(build_model(graph))
    old = weights["n2"]["weight"].copy()
    new = with_weight(weights, "n2", "weight", (3, 1), 2.5)
    new = with_weight(new, "n4", "bias", (0,), -0.75)
    np.testing.assert_array_equal(weights["n2"]["weight"], old)    # undo keeps this one
    assert "n3" not in new and new["n2"]["bias"] is weights["n2"]["bias"]     # not copied
    model = build_model(graph, new)
    assert model.hidden.weight[3, 1].item() == 2.5 and model.out.bias[0].item() == -0.75
    want = old.copy()
    want[3, 1] = 2.5
    np.testing.assert_array_equal(model.hidden.weight.detach().numpy(), want)
    x = torch.tensor([[0.3, -1.2], [1.0, 1.0]])
    with torch.no_grad():
        h = torch.tanh(torch.nn.functional.linear(x, torch.as_tensor(want),
                                                  torch.as_tensor(weights["n2"]["bias"])))
        y = torch.nn.functional.linear(h, model.out.weight, torch.tensor([-0.75]))
        torch.testing.assert_close(model(x), y)
    assert chain_weights(new, ["n2"])["n2"]["weight"][3, 1] == 2.5


@pytest.mark.parametrize("args, message", [
    (("n2", "weight", (8, 0), 1.0), "outside its shape"),
    (("n2", "weight", (0,), 1.0), "outside its shape"),
    (("n2", "weight", (0, 0), float("nan")), "finite"),
    (("n2", "running_mean", (0,), 1.0), "weight or a bias"),
    (("n9", "weight", (0, 0), 1.0), "has no weight"),
])
def test_with_weight_refuses_bad_edits(args, message):
    torch.manual_seed(0)
    weights = node_weights(build_model(_xor().graph))
    with pytest.raises(ValueError, match=message):
        with_weight(weights, *args)
