"""What maximally activates a unit: the top-9 samples are the 9 highest (against PyTorch's own
forward hooks and topk), gradient ascent beats random inputs under the same norm constraint and
keeps to it, and the first layer's weights into a unit are that row of the weight matrix."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.insight import build_model
from engine.insight.compute import module_for, node_weights
from engine.project import load_project
from engine.teach.max_activation import UnitProbe, first_layer_weights, unit_pictures
from engine.teach.probe import dataset_inputs

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


def _example(name: str, seed: int = 0):
    project = load_project(EXAMPLES / f"{name}.nnproj")
    torch.manual_seed(seed)
    model = build_model(project.graph)
    project.graph.weights = node_weights(model)       # random but known weights
    x, _ = dataset_inputs(project, "train", 600)
    return project.graph, model, x


def _node(graph, name):
    return next(n for n in graph.nodes.values() if n.name == name)


def _torch_unit_values(model, node_id, x):
    """Each unit's activation per sample, from a forward hook on the node's own module."""
    captured = []
    hook = module_for(model, node_id).register_forward_hook(
        lambda _m, _i, out: captured.append(out.detach()))
    model.eval()
    with torch.no_grad():
        model(torch.as_tensor(x))
    hook.remove()
    out = captured[0]
    return out.flatten(2).mean(dim=2) if out.dim() > 2 else out


@pytest.mark.parametrize("example,layer", [("digits_cnn", "relu2"), ("digits_cnn", "conv1"),
                                           ("digits_mlp", "relu1")])
def test_the_top_nine_are_the_nine_highest(example, layer):
    graph, model, x = _example(example)
    node = _node(graph, layer)
    expected = _torch_unit_values(model, node.id, x)
    probe = UnitProbe(graph, node.id)
    np.testing.assert_allclose(probe.activations(x), expected.numpy(), rtol=1e-5, atol=1e-6)
    for unit in (0, 5):
        indices, values = probe.top(x, unit)
        top = torch.topk(expected[:, unit], 9)
        np.testing.assert_allclose(values, top.values.numpy(), rtol=1e-5, atol=1e-6)
        assert len(set(indices.tolist())) == 9
        threshold = float(top.values[-1])
        others = np.delete(expected[:, unit].numpy(), indices)
        assert (others <= threshold + 1e-6).all()


@pytest.mark.parametrize("example,layer,unit", [("digits_cnn", "relu2", 3),
                                                ("digits_cnn", "fc1", 7),
                                                ("digits_mlp", "relu2", 1),
                                                ("autoencoder", "code", 2)])
def test_gradient_ascent_beats_random_inputs_within_the_norm_constraint(example, layer, unit):
    graph, model, x = _example(example)
    node = _node(graph, layer)
    ascent = UnitProbe(graph, node.id).ascend(unit, x, steps=48)
    assert ascent.value > float(np.max(ascent.random_values))
    assert ascent.pattern.shape == x.shape[1:]
    center = x.mean(axis=0)
    radius = float(np.median(np.linalg.norm((x - center).reshape(len(x), -1), axis=1)))
    assert np.linalg.norm(ascent.pattern - center) <= radius * 1.001
    assert x.min() - 1e-6 <= ascent.pattern.min() and ascent.pattern.max() <= x.max() + 1e-6
    again = _torch_unit_values(model, node.id, ascent.pattern[None])[0, unit]
    assert float(again) == pytest.approx(ascent.value, rel=1e-4, abs=1e-6)


def test_first_layer_weights_are_the_units_row_or_kernel():
    graph, model, x = _example("digits_mlp")
    fc1 = module_for(model, _node(graph, "fc1").id).weight.detach().numpy()
    for name in ("fc1", "relu1"):                 # the ReLU after it shows the same units
        got = first_layer_weights(UnitProbe(graph, _node(graph, name).id), 4, x.shape[1:])
        np.testing.assert_allclose(got, fc1[4].reshape(x.shape[1:]))
    assert first_layer_weights(UnitProbe(graph, _node(graph, "fc2").id), 0, x.shape[1:]) \
        is None                                   # reads hidden units, not the input
    graph, model, x = _example("digits_cnn")
    conv1 = module_for(model, _node(graph, "conv1").id).weight.detach().numpy()
    got = first_layer_weights(UnitProbe(graph, _node(graph, "conv1").id), 2, x.shape[1:])
    np.testing.assert_allclose(got, conv1[2])


def test_unit_pictures_name_a_unit_out_of_range():
    graph, _model, x = _example("autoencoder")
    pictures = unit_pictures(graph, _node(graph, "enc1").id, 3, x, steps=8)
    assert pictures.units == 32 and pictures.weights.shape == x.shape[1:]
    assert pictures.top_samples.shape == (9, *x.shape[1:])
    np.testing.assert_array_equal(pictures.top_samples, x[pictures.top_indices])
    with pytest.raises(ValueError, match="has 8 units"):
        unit_pictures(graph, _node(graph, "code").id, 8, x)
