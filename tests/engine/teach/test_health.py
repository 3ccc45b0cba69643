"""Health warnings: dead ReLU layers, vanishing and exploding gradients and saturated sigmoids,
on constructed models (numbers checked against PyTorch), and the monitor on real runs: the
warning appears on the right node and clears when the condition goes away."""
from __future__ import annotations

import math
import typing

import numpy as np
import pytest
import torch

from engine.insight import build_model
from engine.insight.compute import module_for, node_weights
from engine.project import Project
from engine.teach.health import (
    WINDOW,
    HealthMonitor,
    activation_warnings,
    dead_units,
    gradient_warnings,
    node_outputs,
    saturated_share,
)
from engine.train.events import BatchEnded, GradNorms
from engine.train.trainer import Trainer
from engine.train.weights import grad_norms
from tests.engine.helpers import chain


def _mlp(hidden: str = "act.ReLU", depth: int = 1, width: int = 8, last_act: str | None = None):
    specs = [("io.Input", {"shape": [2]}, "x")]
    for i in range(depth):
        specs += [("core.Linear", {"out_features": width}, f"fc{i + 1}"),
                  (hidden, {}, f"act{i + 1}")]
    specs.append(("core.Linear", {"out_features": 1}, "head"))
    if last_act:
        specs.append((last_act, {}, "prob"))
    specs.append(("io.Output", {}, "out"))
    graph, nodes = chain(specs)
    return graph, {n.name: n for n in nodes}


def _outputs(graph, model, names, x):
    ids = [names[n].id for n in names if names[n].type.startswith("act.")]
    modules = {nid: module_for(model, nid) for nid in ids}
    return node_outputs(model, modules, ids, torch.as_tensor(x))


def test_a_relu_after_a_big_negative_bias_is_dead_and_a_healthy_one_is_not():
    torch.manual_seed(0)
    graph, n = _mlp()
    model = build_model(graph)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    fc1 = module_for(model, n["fc1"].id)
    with torch.no_grad():
        fc1.bias.fill_(-100.0)
    outs = _outputs(graph, model, n, x)
    relu = torch.relu(fc1(torch.as_tensor(x))).detach().numpy()   # what PyTorch computes
    np.testing.assert_array_equal(outs[n["act1"].id], relu)
    assert dead_units(relu) == (8, 8)
    warnings = activation_warnings(outs, graph)
    assert [(w.node_id, w.kind) for w in warnings] == [(n["act1"].id, "dead_relu")]
    assert "act1" in warnings[0].message and "try" in warnings[0].message
    with torch.no_grad():
        fc1.bias.fill_(1.0)
        fc1.weight.mul_(0.01)
    assert activation_warnings(_outputs(graph, model, n, x), graph) == []


def test_dead_units_count_channels_of_feature_maps():
    a = np.random.default_rng(1).random((5, 4, 3, 3)).astype(np.float32)
    a[:, [0, 2]] = 0.0
    a[0, 1] = 0.0                        # zero for one sample only: alive
    assert dead_units(a) == (2, 4)
    expected = int((torch.as_tensor(a).amax(dim=(0, 2, 3)) == 0).sum())
    assert dead_units(a)[0] == expected


def test_saturated_sigmoids_are_reported_unless_they_are_the_prediction():
    torch.manual_seed(0)
    graph, n = _mlp("act.Sigmoid", last_act="act.Sigmoid")
    model = build_model(graph)
    x = np.random.default_rng(0).normal(size=(128, 2)).astype(np.float32)
    assert activation_warnings(_outputs(graph, model, n, x), graph) == []
    with torch.no_grad():
        module_for(model, n["fc1"].id).weight.mul_(200.0)
        module_for(model, n["head"].id).bias.fill_(1e4)   # the prediction: always 1
    outs = _outputs(graph, model, n, x)
    y = outs[n["act1"].id]
    assert saturated_share(y, "sigmoid") == float(((y < 0.02) | (y > 0.98)).mean()) >= 0.9
    assert saturated_share(outs[n["prob"].id], "sigmoid") >= 0.9
    warnings = activation_warnings(outs, graph)
    assert [(w.node_id, w.kind) for w in warnings] == [(n["act1"].id, "saturated")]
    assert "sigmoid" in warnings[0].message


def _grad_report(hidden: str, depth: int, seed: int = 0):
    torch.manual_seed(seed)
    graph, n = _mlp(hidden, depth=depth, width=32)
    model = build_model(graph)
    x = torch.as_tensor(np.random.default_rng(seed).normal(size=(64, 2)).astype(np.float32))
    y = (x[:, :1] * x[:, 1:] > 0).float()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
    loss.backward()
    params = {nid: list(module_for(model, nid).parameters()) for nid in graph.nodes
              if module_for(model, nid) is not None and
              list(module_for(model, nid).parameters())}
    norms = grad_norms(params)
    for nid, ps in params.items():                     # the norms PyTorch computes
        expected = math.sqrt(sum(float(p.grad.norm()) ** 2 for p in ps))
        assert math.isclose(norms[nid], expected, rel_tol=1e-5)
    sizes = {nid: sum(p.numel() for p in ps) for nid, ps in params.items()}
    return graph, n, norms, sizes


def test_a_deep_sigmoid_net_has_vanishing_gradients_in_its_first_layers_and_relu_not():
    graph, n, norms, sizes = _grad_report("act.Sigmoid", depth=8)
    warnings = gradient_warnings([norms] * WINDOW, sizes, graph)
    flagged = {w.node_id for w in warnings if w.kind == "vanishing"}
    assert n["fc1"].id in flagged and n["head"].id not in flagged
    message = next(w.message for w in warnings if w.node_id == n["fc1"].id)
    assert message.startswith("Vanishing gradients: fc1's") and "ReLU" in message
    graph, n, norms, sizes = _grad_report("act.ReLU", depth=8)
    assert gradient_warnings([norms] * WINDOW, sizes, graph) == []


def test_exploding_gradients_are_huge_not_finite_or_grown_far_from_the_start():
    graph, n = _mlp()
    a, b = n["fc1"].id, n["head"].id
    sizes = {a: 24, b: 9}
    calm = {a: 0.3, b: 0.5}
    assert gradient_warnings([calm] * WINDOW, sizes, graph, [calm] * WINDOW) == []
    grown = {a: 0.3, b: 60.0}                 # 120x its start
    got = gradient_warnings([grown] * WINDOW, sizes, graph, [calm] * WINDOW)
    assert [(w.node_id, w.kind) for w in got] == [(b, "exploding")]
    assert "120× its start" in got[0].message and "learning rate" in got[0].message
    assert gradient_warnings([{a: 0.3, b: 5.0}] * WINDOW, sizes, graph, [calm] * WINDOW) == []
    huge = gradient_warnings([{a: 3e4, b: 1.0}] * WINDOW, sizes, graph)
    assert [(w.node_id, w.kind) for w in huge] == [(a, "exploding")]
    nan = gradient_warnings([{a: float("nan"), b: 1.0}] * WINDOW, sizes, graph)
    assert nan[0].kind == "exploding" and "not a finite number" in nan[0].message
    # one odd report among the latest does not raise a warning (the median decides)
    assert gradient_warnings([calm] * (WINDOW - 1) + [{a: 3e4, b: 1.0}], sizes, graph) == []


class _FakeState:
    def __init__(self, sizes):
        self.node_params = {nid: [torch.zeros(s)] for nid, s in sizes.items()}


def test_the_monitor_sends_a_change_only_and_clears_when_the_condition_goes():
    graph, n = _mlp("act.LeakyReLU", depth=2)      # no activation to check: gradients only
    ids = [n["fc1"].id, n["fc2"].id, n["head"].id]
    state = _FakeState({ids[0]: 24, ids[1]: 72, ids[2]: 9})
    sent = []
    monitor = HealthMonitor(lambda: state, graph, sent.append, publish_s=0.0)

    def report(step, norms):
        monitor(GradNorms(step, norms))
        monitor(BatchEnded(1, step, step, 0.5, 0.1, 100.0, 1.0, 10))

    for step in range(1, 8):
        report(step, {ids[0]: 1e-7, ids[1]: 0.1, ids[2]: 0.2})
    assert len(sent) == 1 and [(w.node_id, w.kind) for w in sent[0]] == [(ids[0], "vanishing")]
    for step in range(8, 8 + WINDOW):
        report(step, {ids[0]: 0.05, ids[1]: 0.1, ids[2]: 0.2})
    assert sent[-1] == [] and len(sent) == 2


def _dead_relu_project(bias: float) -> Project:
    graph, n = _mlp(width=6)
    torch.manual_seed(0)
    model = build_model(graph)
    with torch.no_grad():
        module_for(model, n["fc1"].id).bias.fill_(bias)
    graph.weights = node_weights(model)
    dataset = {"source": "synthetic", "name": "xor", "samples": 200, "seed": 0,
               "val_split": 0.25}
    training = {"epochs": 3, "batch_size": 32, "loss": "bce_with_logits", "seed": 0,
                "start_from": "weights", "optimizer": {"name": "sgd", "lr": 0.01}}
    return Project(graph, dataset, training), n


def _train_with_monitor(project):
    sent, holder = [], {}
    monitor = HealthMonitor(lambda: holder["trainer"].state, project.graph, sent.append,
                            interval_s=0.0)
    trainer = holder["trainer"] = Trainer(project, "cpu", [monitor], run_dir=False)
    assert trainer.fit().status == "completed"
    return sent


def test_a_run_whose_relus_die_gets_the_warning_on_the_relu_node():
    project, n = _dead_relu_project(-100.0)
    sent = _train_with_monitor(project)
    assert [(w.node_id, w.kind) for w in sent[-1]] == [(n["act1"].id, "dead_relu")]
    project, n = _dead_relu_project(0.5)
    assert _train_with_monitor(project) in ([], [[]])


def test_a_check_that_cannot_run_turns_the_monitor_off_without_failing_the_run():
    class Broken:
        node_params: typing.ClassVar[dict] = {}
        val_data = None

        @property
        def train_data(self):
            raise RuntimeError("no samples here")

    graph, _n = _mlp()
    sent = []
    monitor = HealthMonitor(lambda: Broken(), graph, sent.append)
    with pytest.warns(RuntimeWarning, match="health warnings are off.*no samples here"):
        monitor(BatchEnded(1, 1, 1, 0.5, 0.1, 100.0, 1.0, 10))
    monitor(BatchEnded(1, 2, 2, 0.5, 0.1, 100.0, 1.0, 10))       # quietly off now
    assert monitor.broken and sent == []


def test_a_gan_trains_with_the_monitor_on_and_no_check_turned_off(recwarn):
    """A GAN's samples go into its discriminator, not its noise Input: the activation check
    must not push digits through the generator (it raised, and the monitor switched off)."""
    from engine.examples import example_path
    from engine.project import load_project

    project = load_project(example_path("gan_digits"), weights=False)
    project.dataset["max_samples"] = 128
    project.training["epochs"] = 1
    _train_with_monitor(project)
    assert not [w for w in recwarn if "health warnings are off" in str(w.message)]
