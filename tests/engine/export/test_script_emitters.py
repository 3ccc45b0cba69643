"""One source of truth: every piece of code the script exporter writes is run here against the
engine function it stands for, on the same inputs, and must give the same numbers (bit for
bit): optimizers, learning-rate schedules, losses, metrics, L1/L2 penalties, CD-k."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.data.base import Target
from engine.export.script.data_plan import TargetPlan
from engine.export.script.metrics import metrics_code
from engine.export.script.plan import OutputPlan
from engine.export.script.recipes import CD_HELPERS
from engine.export.script.training import (
    loss_code,
    optimizer_code,
    penalty_code,
    schedule_code,
)
from engine.train import rbm as engine_rbm
from engine.train.config import resolve_config
from engine.train.losses import loss_fn, prepare_target
from engine.train.metrics import compute
from engine.train.optim import Schedule, build_optimizer
from engine.train.weights import penalty

GLOBALS = {"torch": torch, "nn": nn, "F": F, "np": np, "math": math}


def run(blocks: list[list[str]]) -> dict:
    """Exec emitted top-level blocks; their namespace."""
    namespace = dict(GLOBALS)
    exec("\n\n\n".join("\n".join(b) for b in blocks), namespace)  # noqa: S102 - our own code
    return namespace


# -- optimizers ----------------------------------------------------------------------------------

OPTIMIZERS = [
    {"name": "sgd", "lr": 0.1}, {"name": "sgd", "lr": 0.1, "momentum": 0.5, "weight_decay": 1e-3},
    {"name": "momentum", "lr": 0.05}, {"name": "nesterov", "lr": 0.05, "momentum": 0.8},
    {"name": "adagrad", "lr": 0.1}, {"name": "adadelta", "lr": 1.0, "rho": 0.8},
    {"name": "rmsprop", "lr": 0.01, "momentum": 0.3, "alpha": 0.9},
    {"name": "adam", "lr": 0.002}, {"name": "adam", "lr": 3, "betas": [0.8, 0.99], "eps": 1e-6},
    {"name": "adamw", "lr": 0.001}, {"name": "adamw", "lr": 0.001, "weight_decay": 0.05},
]


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=lambda o: o["name"])
def test_optimizer_code_steps_like_build_optimizer(opt):
    opt = resolve_config({"optimizer": opt})["optimizer"]
    torch.manual_seed(0)
    a = [torch.randn(5, 3, requires_grad=True), torch.randn(3, requires_grad=True)]
    b = [p.detach().clone().requires_grad_(True) for p in a]
    engine_opt = build_optimizer(a, opt)
    code = optimizer_code(opt, "params")
    emitted = eval(code, {"torch": torch, "params": b})
    assert type(emitted) is type(engine_opt)
    assert {k: v for k, v in emitted.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in engine_opt.param_groups[0].items() if k != "params"}
    for _ in range(3):
        grads = [torch.randn_like(p) for p in a]
        for params, o in ((a, engine_opt), (b, emitted)):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            o.step()
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert code.startswith("torch.optim.") and "lr=" in code


def test_optimizer_code_writes_only_what_differs_from_torch():
    cfg = resolve_config({"optimizer": {"name": "adam", "lr": 0.002}})["optimizer"]
    assert optimizer_code(cfg) == "torch.optim.Adam(model.parameters(), lr=0.002)"
    cfg = resolve_config({"optimizer": {"name": "adamw", "lr": 0.002}})["optimizer"]
    assert "weight_decay=0.0" in optimizer_code(cfg)  # torch's AdamW default is 0.01


# -- learning-rate schedules ---------------------------------------------------------------------

SCHEDULES = [
    {"name": "constant"}, {"name": "constant", "warmup_epochs": 2},
    {"name": "step", "step_size": 2, "gamma": 0.3}, {"name": "exponential", "gamma": 0.7},
    {"name": "cosine"}, {"name": "cosine", "min_lr": 1e-4, "warmup_epochs": 0.5},
    {"name": "plateau", "patience": 0, "factor": 0.5},
    {"name": "plateau", "patience": 1, "factor": 0.5, "min_lr": 0.004, "warmup_epochs": 3},
    {"name": "onecycle"}, {"name": "onecycle", "max_lr": 0.05, "pct_start": 0.25},
]
# improvements of 10%, 0.05% (counts: more than 0.01%), none, NaN (skipped), ...
MONITORED = [1.0, 0.9, 0.89955, 0.95, float("nan"), 0.99, 0.5, 0.6, 0.7]


def _engine_rates(cfg, lr, epochs, steps):
    sched = Schedule(cfg, lr, epochs, steps)
    rates, step = [], 0
    for epoch in range(epochs):
        for _ in range(steps):
            rates.append(sched.lr_at(epoch, step))
            step += 1
        sched.end_epoch(MONITORED[epoch])
    return rates


def _emitted_rates(cfg, lr, epochs, n, batch_size):
    code = schedule_code(cfg, lr, "val_loss")
    setup, at_epoch, at_step, tick = code.lines(batch_size)
    steps = math.ceil(n / batch_size)
    body = ["x = range(n)", *setup, "rates = []", "for epoch in range(epochs):",
            *["    " + ln for ln in at_epoch], f"    for _ in range({steps}):",
            *["        " + ln for ln in at_step],
            '        rates.append(optimizer.param_groups[0]["lr"])',
            *["        " + ln for ln in tick], '    row = {"val_loss": monitored[epoch]}',
            *["    " + ln for ln in code.end], "return rates"]
    namespace = run([*code.helpers, ["def simulate(optimizer, n, epochs, monitored):",
                                     *["    " + ln for ln in body]]])
    optimizer = SimpleNamespace(param_groups=[{"lr": lr}])
    return namespace["simulate"](optimizer, n, epochs, MONITORED)


@pytest.mark.parametrize("cfg", SCHEDULES, ids=lambda c: "-".join(map(str, c.values())))
def test_schedule_code_gives_the_engines_rates(cfg):
    cfg = resolve_config({"schedule": cfg})["schedule"]
    epochs, n, batch_size = 8, 45, 8
    expected = _engine_rates(cfg, 0.01, epochs, math.ceil(n / batch_size))
    assert _emitted_rates(cfg, 0.01, epochs, n, batch_size) == expected
    assert len(set(expected)) > 1 or cfg["name"] == "constant" and not cfg["warmup_epochs"]


def test_a_constant_rate_writes_no_schedule():
    code = schedule_code(resolve_config({})["schedule"], 0.001, "val_loss")
    assert code.lines(32) == ([], [], [], []) and not code.helpers and not code.end


# -- losses --------------------------------------------------------------------------------------

def _output(loss, shape, values, weight=1.0, name="out", task="classification"):
    values = np.asarray(values)
    target = TargetPlan("label", Target(values, task), Target(values, task))
    return OutputPlan(name, name.replace(" ", "_"), loss, weight, tuple(shape), [], target)


def _data(loss, n=12, c=4, seed=0):
    """(output tensor, raw target array, output shape) for a loss."""
    g = np.random.default_rng(seed)
    if loss in ("cross_entropy", "multi_hinge"):
        return torch.randn(n, c), g.integers(0, c, n), (c,)
    if loss == "bce":
        return torch.rand(n, 1), g.integers(0, 2, (n, 1)).astype(np.float32), (1,)
    if loss in ("bce_with_logits", "hinge"):
        return torch.randn(n, 1), g.integers(0, 2, (n, 1)).astype(np.float32), (1,)
    if loss == "multilabel_bce":
        return torch.randn(n, 3), g.integers(0, 2, (n, 3)).astype(np.float32), (3,)
    return torch.randn(n, 3), g.normal(size=(n, 3)).astype(np.float32), (3,)


LOSSES = ["cross_entropy", "mse", "mae", "huber", "bce_with_logits", "multilabel_bce", "bce",
          "hinge", "multi_hinge"]


@pytest.mark.parametrize("name", LOSSES)
def test_loss_code_equals_loss_fn(name):
    torch.manual_seed(1)
    out, y, shape = _data(name)
    loss = "hinge" if name == "multi_hinge" else name
    plan = SimpleNamespace(outputs=[_output(loss, shape, y)])
    target = prepare_target(loss, y, shape)
    emitted = run(loss_code(plan))["loss_fn"](out, target)
    assert torch.equal(emitted, loss_fn(loss)(out, target))


def test_weighted_losses_of_several_outputs_add_up_like_the_trainer():
    torch.manual_seed(2)
    names = ["cross_entropy", "hinge", "mse"]
    data = [_data(n, seed=i) for i, n in enumerate(names)]
    outputs = [_output(n, s, y, w, f"head {i}") for i, (n, (_, y, s), w)
               in enumerate(zip(names, data, (1.0, 0.5, 2.0)))]
    targets = [prepare_target(n, y, s) for n, (_, y, s) in zip(names, data)]
    outs = [o for o, _, _ in data]
    emitted = run(loss_code(SimpleNamespace(outputs=outputs)))["loss_fn"](outs, targets)
    expected = None
    for o, n, t, w in zip(outs, names, targets, (1.0, 0.5, 2.0)):  # Trainer._forward_loss
        term = loss_fn(n)(o, t)
        term = term if w == 1.0 else w * term
        expected = term if expected is None else expected + term
    assert torch.equal(emitted, expected)


# -- metrics -------------------------------------------------------------------------------------

METRIC_CASES = [
    ("cross_entropy", (5,), "int", ["accuracy", "top_k_accuracy", "precision", "recall", "f1",
                                    "confusion_matrix", "mse"]),
    ("cross_entropy", (5,), "onehot", ["accuracy", "top_k_accuracy", "f1"]),
    ("cross_entropy", (4, 6), "int", ["accuracy", "precision", "confusion_matrix"]),
    ("bce_with_logits", (1,), "bin", ["binary_accuracy", "precision", "recall", "f1",
                                      "confusion_matrix", "mae"]),
    ("bce", (1,), "bin", ["binary_accuracy", "f1"]),
    ("multilabel_bce", (3,), "bin", ["binary_accuracy", "recall"]),
    ("hinge", (1,), "bin", ["binary_accuracy", "precision"]),
    ("hinge", (4,), "int", ["accuracy", "f1", "confusion_matrix"]),
    ("mse", (3,), "float", ["mse", "mae", "rmse", "r2"]),
    ("mae", (2, 3), "float", ["mae", "r2"]),
]


def _metric_data(loss, shape, kind, n=30, seed=3):
    g = np.random.default_rng(seed)
    out = torch.as_tensor(g.normal(size=(n, *shape)).astype(np.float32))
    if loss == "bce":
        out = torch.sigmoid(out)
    if kind == "int":
        y = g.integers(0, shape[0], (n, *shape[1:]))
    elif kind == "onehot":
        y = np.eye(shape[0], dtype=np.float32)[g.integers(0, shape[0], n)]
    elif kind == "bin":
        y = g.integers(0, 2, (n, *shape)).astype(np.float32)
    else:
        y = g.normal(size=(n, *shape)).astype(np.float32)
    return out, y


@pytest.mark.parametrize("loss, shape, kind, names", METRIC_CASES,
                         ids=[f"{c[0]}-{c[2]}-{len(c[1])}d" for c in METRIC_CASES])
def test_metrics_code_equals_compute(loss, shape, kind, names):
    out, y = _metric_data(loss, shape, kind)
    o = _output(loss, shape, y)
    o.metrics = names
    plan = SimpleNamespace(outputs=[o], multi=False, metrics=True, cfg={"top_k": 3})
    target = prepare_target(loss, y, shape)
    emitted = run(metrics_code(plan))["metrics"](out, target)
    assert emitted == compute(names, loss, out, target, 3)


def test_metrics_of_several_outputs_are_prefixed_like_the_trainer():
    cases = [METRIC_CASES[0], METRIC_CASES[3]]
    outputs, outs, targets, expected = [], [], [], {}
    for i, (loss, shape, kind, names) in enumerate(cases):
        out, y = _metric_data(loss, shape, kind, seed=i)
        o = _output(loss, shape, y, name=f'head "{i}"')
        o.var, o.metrics = f"head_{i}", names
        outputs.append(o)
        outs.append(out)
        targets.append(prepare_target(loss, y, shape))
        expected.update({f'head "{i}"_{k}': v for k, v in
                         compute(names, loss, out, targets[-1], 5).items()})
    plan = SimpleNamespace(outputs=outputs, multi=True, metrics=True, cfg={"top_k": 5})
    assert run(metrics_code(plan))["metrics"](outs, targets) == expected


# -- L1/L2 penalty, contrastive divergence --------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.lstm = nn.LSTM(3, 2, num_layers=2)
        self.block = nn.Sequential(nn.Linear(2, 2))


def test_penalty_code_equals_the_engines_penalty():
    torch.manual_seed(4)
    model = Net()
    terms = [("l1", 0.001, ["fc.weight"]),
             ("l2", 0.01, [f"lstm.{n}" for n, _ in model.lstm.named_parameters()
                           if "bias" not in n]),
             ("l2", 0.5, ["block.0.weight"])]
    plan = SimpleNamespace(penalties=terms)
    emitted = run([penalty_code(plan)])["penalty"](model)
    engine_terms = [(k, c, [model.get_parameter(p) for p in paths]) for k, c, paths in terms]
    assert torch.equal(emitted, penalty(engine_terms))


def test_cd_helpers_equal_the_engines_rbm_functions():
    from engine.layers.rbm import _SUPPORT

    namespace = run([_SUPPORT.strip("\n").split("\n"), *CD_HELPERS])
    torch.manual_seed(5)
    rbm = namespace["RBM"](6, 4)
    x = torch.randint(-1, 2, (10, 6)).float()
    torch.manual_seed(6)
    loss, error = namespace["cd_loss"](rbm, x, k=2)
    loss.backward()
    grads = [p.grad.clone() for p in rbm.parameters()]
    rbm.zero_grad()
    torch.manual_seed(6)
    e_loss, e_error = engine_rbm.cd_loss(rbm, x, 2)
    e_loss.backward()
    assert torch.equal(loss, e_loss) and torch.equal(error, e_error)
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, rbm.parameters()))
    assert torch.equal(namespace["reconstruction_error"](rbm, x, x),
                       engine_rbm.reconstruction_error(rbm, x, x)[0])
